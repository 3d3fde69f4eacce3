/**
 * Every throttle switched off: for tests about something else that send many requests from one
 * client (races, crashes, fuzzing). The throttle itself is tested in tests/throttle.test.ts.
 */
export const NO_LIMITS = {
  LIMIT_REGISTER_PER_CLIENT: 'off',
  LIMIT_LOGIN_PER_CLIENT: 'off',
  LIMIT_RESEND_PER_CLIENT: 'off',
  LIMIT_ACTIVATE_PER_CLIENT: 'off',
  LIMIT_FORGOT_PER_CLIENT: 'off',
  LIMIT_RESET_PER_CLIENT: 'off',
  LIMIT_MAIL_PER_ADDRESS_CLIENT: 'off',
  LIMIT_MAIL_PER_ADDRESS: 'off',
};
