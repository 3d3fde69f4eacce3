/** A refused field of a request, named by its JSON Pointer (RFC 6901) into the request body. */
export interface FieldError {
  pointer: string;
  detail: string;
}
