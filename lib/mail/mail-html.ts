/**
 * The HTML part of a mail, made from the template's text so that the two parts cannot say
 * different things. Mail clients are not browsers: many drop <style> and <head>, some drop classes,
 * none should run scripts or fetch images, so every rule is an inline style, there is one column
 * that a phone can show without zooming, and nothing is loaded from anywhere. Everything that comes
 * from outside this module (text, link, address, app name) is escaped.
 */

export interface MailHtmlParts {
  /** The finished subject, which is also the document's title. */
  subject: string;
  appName: string;
  /** The template's text: paragraphs split by a blank line, hard-wrapped with single newlines. */
  text: string;
  link?: string;
  /** The words on the link's button. */
  action: string;
  /** The closing line, the same words as the text part's sign-off. */
  signOff: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** The same five characters hono/html escapes for the pages; safe in text and in quoted attributes. */
function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

// System fonts (nothing to download); 16px text and 1.5 line height read well on a phone.
const FONT = "-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif";
const TEXT_COLOR = '#1a1a1a';
// #4a4a4a on white is 8.9:1 and #0b57d0 behind white text 6.3:1, above WCAG AA's 4.5:1.
const QUIET_COLOR = '#4a4a4a';
const BUTTON_COLOR = '#0b57d0';

const STYLE = {
  // Colours set on the block itself, not only on <body>, which webmail clients replace with theirs.
  // break-word keeps a long address or word from widening the column on a phone.
  column: `max-width:560px;margin:0 auto;padding:24px 16px;font-family:${FONT};font-size:16px;line-height:1.5;color:${TEXT_COLOR};background-color:#ffffff;overflow-wrap:break-word;word-wrap:break-word`,
  heading: `margin:0 0 24px;font-size:20px;line-height:1.3;font-weight:700;color:${TEXT_COLOR}`,
  paragraph: 'margin:0 0 16px',
  buttonRow: 'margin:24px 0 8px',
  // An <a> that looks like a button: a table-cell button would only help Outlook's Word engine, at
  // the cost of markup every other client reads aloud as a table.
  button: `display:inline-block;padding:12px 24px;border-radius:6px;background-color:${BUTTON_COLOR};color:#ffffff;font-weight:600;font-size:16px;line-height:1.5;text-decoration:none`,
  copy: `margin:0 0 24px;font-size:14px;color:${QUIET_COLOR}`,
  // A token link is one long word; break-all lets it wrap anywhere instead of overflowing.
  link: `word-break:break-all;color:${TEXT_COLOR}`,
  footer: `margin:32px 0 0;padding-top:16px;border-top:1px solid #d4d4d4;font-size:14px;color:${QUIET_COLOR}`,
};

/** A template's paragraph: its hard-wrapped lines joined, and whether the link stood on a line of its own in it. */
interface Paragraph {
  text: string;
  hadLink: boolean;
}

function paragraphs(text: string, link: string | undefined): Paragraph[] {
  return text
    .split(/\n[ \t]*\n/)
    .map((block) => {
      const lines = block
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line !== '');
      const rest = lines.filter((line) => line !== link);
      return { text: rest.join(' '), hadLink: rest.length < lines.length };
    })
    .filter((p) => p.text !== '' || p.hadLink);
}

function linkBlock(link: string, action: string): string {
  const href = escapeHtml(link);
  return (
    `<p style="${STYLE.buttonRow}"><a href="${href}" style="${STYLE.button}">${escapeHtml(action)}</a></p>\n` +
    `<p style="${STYLE.copy}">Or copy this link into your browser:<br><span style="${STYLE.link}">${href}</span></p>\n`
  );
}

export function mailHtml(parts: MailHtmlParts): string {
  const { subject, appName, text, link, action, signOff } = parts;
  let body = '';
  let linkShown = false;
  for (const p of paragraphs(text, link)) {
    if (p.text !== '') body += `<p style="${STYLE.paragraph}">${escapeHtml(p.text)}</p>\n`;
    // The button goes where the text put the link, right after the sentence that introduces it.
    if (p.hadLink && link !== undefined && !linkShown) {
      body += linkBlock(link, action);
      linkShown = true;
    }
  }
  if (link !== undefined && !linkShown) body += linkBlock(link, action);

  // <main> makes the mail the page's one landmark where it is the whole page (a desktop client, a
  // browser). A webmail page has a main of its own and drops ours with <html> and <body>; there the
  // <div>, as an article with a roledescription, tells a screen reader where the mail begins and
  // ends, and its lang says what language it is in.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<meta name="supported-color-schemes" content="light">
<title>${escapeHtml(subject)}</title>
</head>
<body style="margin:0;padding:0;background-color:#ffffff;-webkit-text-size-adjust:100%">
<main>
<div role="article" aria-roledescription="email" aria-label="${escapeHtml(subject)}" lang="en" style="${STYLE.column}">
<h1 style="${STYLE.heading}">${escapeHtml(appName)}</h1>
${body}<p style="${STYLE.footer}">${escapeHtml(signOff)}</p>
</div>
</main>
</body>
</html>
`;
}
