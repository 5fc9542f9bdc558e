/**
 * Users and logins: the {@linkcode UserStore} seam and its default
 * credentials-file store, the file format, password hashing, permission
 * letters, per-user settings, the authenticator and the login throttle.
 *
 * @module
 */

export * from "./authenticator.ts";
export * from "./credentials_format.ts";
export * from "./credentials_store.ts";
export * from "./login_throttle.ts";
export * from "./password_hash.ts";
export * from "./permissions.ts";
export * from "./user_record.ts";
export * from "./user_settings.ts";
export * from "./user_store.ts";
