package threescaletest

import (
	"fmt"
	"net/http"
	"strings"
)

// errorDef is one apisonator error class: its HTTP status, the message
// with the offending value, and the message used when the value is absent
// ("" if the class has a single form).
type errorDef struct {
	status         int
	format, absent string
}

// errorDefs lists every <error> code the transaction endpoints send, with
// apisonator's exact messages (errors.rb).
var errorDefs = map[string]errorDef{
	"provider_key_invalid":                    {http.StatusForbidden, `provider key "%s" is invalid`, ""},
	"provider_key_invalid_or_service_missing": {http.StatusForbidden, `provider key "%s" invalid and/or service ID missing`, ""},
	"provider_key_or_service_token_required":  {http.StatusForbidden, "", "Provider key or service token are required"},
	"service_token_invalid":                   {http.StatusForbidden, `service token "%s" or service id "%s" is invalid`, ""},
	"service_id_missing":                      {http.StatusUnprocessableEntity, "", "Service ID is missing"},
	"service_id_invalid":                      {http.StatusForbidden, `service id "%s" is invalid`, ""},
	"application_not_found":                   {http.StatusNotFound, `application with id="%s" was not found`, "application id is missing"},
	"user_key_invalid":                        {http.StatusForbidden, `user key "%s" is invalid`, "user key is missing"},
	"authentication_error":                    {http.StatusForbidden, "", "either app_id or user_key is allowed, not both"},
	"metric_invalid":                          {http.StatusNotFound, `metric "%s" is invalid`, ""},
	"usage_value_invalid":                     {http.StatusForbidden, `usage value "%s" for metric "%s" is invalid`, ""},
	"usage_value_empty":                       {http.StatusForbidden, `usage value for metric "%s" can not be empty`, ""},
	"end_users_no_longer_supported":           {http.StatusBadRequest, "", "End-users are no longer supported, do not specify the user_id parameter"},
	"not_valid_data":                          {http.StatusUnprocessableEntity, "", "all data must be valid UTF8"},
	"bad_request":                             {http.StatusBadRequest, "%s", syntaxErrorMsg},
	"content_type_invalid":                    {http.StatusBadRequest, "invalid Content-Type: %s", ""},
	"transactions_is_blank":                   {http.StatusBadRequest, "", "transactions parameter is blank"},
	"transactions_format_invalid":             {http.StatusBadRequest, "", "transactions format is invalid"},
	"transactions_has_nil_transaction":        {http.StatusBadRequest, "", "transactions has a nil transaction"},
	"transaction_timestamp_too_old":           {http.StatusForbidden, "", "reporting transactions older than 86400 seconds is not allowed"},
	"transaction_timestamp_too_new":           {http.StatusForbidden, "", "reporting transactions more than 3600 seconds in the future is not allowed"},
}

// apiError is an <error> response (or an integration error).
type apiError struct {
	code   string
	status int
	msg    string
	// keepBody: rendered with a body even with no_body (not_valid_data and
	// Rack parsing errors).
	keepBody bool
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

// newError builds the error of class code; with no args it uses the
// class's "absent" message.
func newError(code string, args ...any) *apiError {
	d, ok := errorDefs[code]
	if !ok {
		panic("threescaletest: unknown error code " + code)
	}
	e := &apiError{code: code, status: d.status, msg: d.absent}
	if len(args) > 0 || d.absent == "" {
		e.msg = fmt.Sprintf(d.format, args...)
	}
	if code == "usage_value_empty" {
		e.code = "usage_value_invalid"
	}
	e.keepBody = code == "not_valid_data"
	return e
}

// xmlText escapes like Ruby Builder's text: &, < and > only.
var xmlText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

const xmlDecl = `<?xml version="1.0" encoding="UTF-8"?>`

func (e *apiError) xml() []byte {
	return []byte(xmlDecl + `<error code="` + e.code + `">` + xmlText.Replace(e.msg) + `</error>`)
}
