package routing

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/payrun/payrun/masspay"
)

// MatchAttributes fills a route's required payee details from a row's attr:
// columns. It returns the values to store (skipping those MassPay already
// holds with the same value, which would only make a new attribute set), the
// attribute set already stored, and, when a required detail is neither given
// nor stored or a value fails MassPay's pattern, a plain-English problem
// naming each column. Values are never logged.
func MatchAttributes(reqs []masspay.AttrsRequirement, attrs map[string]string) (values []masspay.AttrValue, stored, problem string) {
	var missing, bad []string
	for _, req := range reqs {
		if stored == "" {
			stored = req.AttrSetToken
		}
		v := strings.TrimSpace(attrs[req.Type])
		if v == "" {
			if !req.IsOptional && req.Value == "" {
				missing = append(missing, fmt.Sprintf("%s (column attr:%s)", req.Label, req.Type))
			}
			continue
		}
		if req.Value == v {
			continue
		}
		if req.Validation != "" {
			if re, err := regexp.Compile(anchored(req.Validation)); err == nil && !re.MatchString(v) {
				hint := ""
				if req.ExpectedValue != "" {
					hint = "; expected " + req.ExpectedValue
				}
				bad = append(bad, fmt.Sprintf("%s (column attr:%s) does not have the form MassPay requires%s", req.Label, req.Type, hint))
				continue
			}
		}
		values = append(values, masspay.AttrValue{Token: req.Token, Value: v})
	}
	if len(missing) > 0 || len(bad) > 0 {
		var parts []string
		if len(missing) > 0 {
			parts = append(parts, "missing "+strings.Join(missing, ", "))
		}
		problem = strings.Join(append(parts, bad...), "; ")
	}
	return values, stored, problem
}

// anchored makes a MassPay validation pattern match the whole value.
func anchored(re string) string {
	if !strings.HasPrefix(re, "^") {
		re = "^(?:" + re + ")"
	}
	if !strings.HasSuffix(re, "$") {
		re += "$"
	}
	return re
}
