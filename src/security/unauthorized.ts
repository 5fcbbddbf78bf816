import { ThemisError } from '../errors.js';

/**
 * A refused request: no credential, or one that is malformed or unknown (`invalidToken`, RFC 6750 §3.1
 * error="invalid_token"). server/ turns it into the `WWW-Authenticate` challenge.
 */
export class Unauthorized extends ThemisError {
  constructor(
    message: string,
    readonly invalidToken: boolean,
  ) {
    super('UNAUTHORIZED', message);
  }
}
