-- How a session was signed in (issue #16): "password", "mfa" (a password
-- and a second factor), "passkey" (a passkey instead of a password) or
-- "sso" (the firm's OpenID Connect provider). API tokens, and sessions
-- from before this migration, have "". The firm's MFA policy reads it: a
-- single sign-on session is the provider's to secure.
ALTER TABLE tokens ADD COLUMN method TEXT NOT NULL DEFAULT '';
