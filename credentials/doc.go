// Package credentials pulls 3scale application credentials out of an HTTP
// request.
//
// An [Extractor] takes a request and returns [core.Credentials] (a user_key,
// an app_id with an optional app_key, or an OAuth client id), or an error
// that matches [ErrMissing] ("nothing here, a chain may try the next
// extractor") or [ErrMalformed] ("something is here but unusable, stop").
// Errors name the parameter or header, never the secret value.
//
// # Modes
//
// The three 3scale authentication modes are ready made, with APIcast's
// defaults (names user_key, app_id, app_key, access_token; location query
// with the urlencoded form body as fallback for POST/PUT/PATCH):
//
//   - [UserKeyMode]: backend_version 1, "API key".
//   - [AppIDMode]: backend_version 2, "App ID + App Key".
//   - [OAuthMode]: backend_version "oauth"/OIDC, the client id as app_id; a
//     Bearer token is always accepted.
//   - [Default] is UserKeyMode(); [Hybrid] accepts either user_key or app_id
//     but not both.
//
// Options change names ([UserKeyName], [AppIDName], [AppKeyName],
// [AccessTokenName]), locations ([Locations] with [InQuery], [InHeaders],
// [InAuthorization]), limits ([MaxLength]) and [Strip], which removes the
// credentials from the request before the protected handler sees it.
//
// # Sources and builders
//
// A [Source] finds one value: [Query], [Header] (case-insensitive, '-' and
// '_' equivalent as in APIcast), [Form] (without consuming the body),
// [BasicUser] and [BasicPassword] (Authorization: Basic, split at the last
// colon), [Bearer], and [AnyOf] to try several. [UserKeyFrom], [AppIDFrom]
// and [OAuthFrom] turn sources into extractors, e.g.
// UserKeyFrom(Header("X-API-Key")); [BasicAppID], [BasicUserKey] and
// [BearerOAuth] are ready made. [FirstOf] (precedence) and [OneOf]
// (exclusive) compose extractors; [ExtractorFunc] covers anything custom,
// such as an OIDC token your code validates.
//
// # Awkward cases
//
//   - nothing found: ErrMissing;
//   - app_key without app_id: ErrMalformed;
//   - user_key and app_id both present ([Hybrid], [OneOf]): ErrMalformed;
//   - empty value ("?user_key="), value over [DefaultMaxLength] bytes, value
//     with control characters: ErrMalformed;
//   - a parameter or header repeated with the same value is accepted; with
//     different values it is ErrMalformed;
//   - invalid Basic base64 or several different Authorization headers:
//     ErrMalformed.
//
// The middleware answers both ErrMissing and ErrMalformed with the "auth
// missing" error response (APIcast's behaviour: 401 by default, 403 in
// porta-exported configurations).
package credentials
