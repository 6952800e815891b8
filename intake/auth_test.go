package intake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

const (
	acmeToken   = "acme-token-3f9a1c"
	globexToken = "globex-token-77e0d2"
)

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

var twoClients = fmt.Sprintf(`{"acme":%q,"globex":%q}`, tokenHash(acmeToken), tokenHash(globexToken))

func TestParseClientsFailsClosedWithoutQuotingTheSecret(t *testing.T) {
	t.Parallel()
	h := tokenHash("t")
	for _, raw := range []string{
		`acme:` + h,
		`[]`,
		`null`,
		`{}`,
		`{"acme":"` + h[:63] + `"}`,
		`{"acme":"` + h + `0"}`,
		`{"acme":"` + strings.Repeat("z", 64) + `"}`,
		`{"acme":42}`,
		`{"ac:me":"` + h + `"}`,
		`{"acme\n":"` + h + `"}`,
		`{"":"` + h + `"}`,
		`{"` + strings.Repeat("a", 65) + `":"` + h + `"}`,
		`{"acme":"` + h + `","globex":"` + h + `"}`,
	} {
		_, err := ParseClients(raw)
		if err == nil {
			t.Errorf("ParseClients(%s) accepted a malformed setting", raw)
			continue
		}
		if !strings.Contains(err.Error(), "CLIENT_TOKENS") || strings.Contains(err.Error(), h[:16]) {
			t.Errorf("error %q must name CLIENT_TOKENS and never quote a hash", err)
		}
	}
}

func TestParseClientsAcceptsEveryAllowedIDCharacter(t *testing.T) {
	t.Parallel()
	id := "Acme.EU_desk-2." + strings.Repeat("z", 49) // 64 characters
	clients, err := ParseClients(fmt.Sprintf(`{%q:%q}`, id, tokenHash("t")))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := clients.Authenticate([]string{"Bearer t"}); !ok || got != id {
		t.Errorf("Authenticate = %q, %v; want %q", got, ok, id)
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	clients, err := ParseClients(twoClients)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		header []string
		want   string // "" for refused
	}{
		{[]string{"Bearer " + acmeToken}, "acme"},
		{[]string{"Bearer " + globexToken}, "globex"},
		{[]string{"bearer " + acmeToken}, "acme"},
		{nil, ""},
		{[]string{""}, ""},
		{[]string{"Bearer"}, ""},
		{[]string{"Bearer "}, ""},
		{[]string{"Basic " + acmeToken}, ""},
		{[]string{acmeToken}, ""},
		{[]string{"Bearer " + acmeToken + "x"}, ""},
		{[]string{"Bearer " + tokenHash(acmeToken)}, ""},
		{[]string{"Bearer " + acmeToken, "Bearer " + acmeToken}, ""},
	}
	for _, tt := range tests {
		id, ok := clients.Authenticate(tt.header)
		if id != tt.want || ok != (tt.want != "") {
			t.Errorf("Authenticate(%q) = %q, %v; want %q", tt.header, id, ok, tt.want)
		}
	}
}

func newAuthWorker(t *testing.T) *worker {
	w := newWorker(t)
	settings, err := ParseSettings(func(name string) string {
		return map[string]string{"CLIENT_TOKENS": twoClients}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	w.reconfigure(settings, nil)
	return w
}

func (w *worker) postAs(token, key, body string) *httptest.ResponseRecorder {
	w.t.Helper()
	return w.do("POST", "/orders", body, "Authorization", "Bearer "+token, "Idempotency-Key", key)
}

// Without a valid token nothing else is looked at: not the key, not the body,
// not storage.
func TestUnauthorizedBeforeAnythingElse(t *testing.T) {
	t.Parallel()
	for name, headers := range map[string][]string{
		"no Authorization": {"Idempotency-Key", "k"},
		"wrong scheme":     {"Authorization", "Basic " + acmeToken, "Idempotency-Key", "k"},
		"unknown token":    {"Authorization", "Bearer nope", "Idempotency-Key", "k"},
		"empty token":      {"Authorization", "Bearer ", "Idempotency-Key", "k"},
		"no key either":    {"Authorization", "Bearer nope"},
	} {
		w := newAuthWorker(t)
		rec := w.do("POST", "/orders", `not json`, headers...)
		wantError(t, rec, 401, "unauthorized")
		if rec.Header().Get("WWW-Authenticate") != "Bearer" {
			t.Errorf("%s: WWW-Authenticate %q", name, rec.Header().Get("WWW-Authenticate"))
		}
		if calls := w.kvCalls(); calls != [3]int{} {
			t.Errorf("%s: KV calls %v before authentication", name, calls)
		}
	}
	w := newAuthWorker(t)
	if rec := w.do("GET", "/healthz", ""); rec.Code != 200 {
		t.Errorf("healthz needs no token: %d", rec.Code)
	}
}

func TestClientsHaveIndependentKeys(t *testing.T) {
	t.Parallel()
	w := newAuthWorker(t)
	acme := w.postAs(acmeToken, "shared-key", msft100)
	globex := w.postAs(globexToken, "shared-key", msft100)
	if acme.Code != 201 || globex.Code != 201 {
		t.Fatalf("same key, two clients: %d and %d, want two new orders", acme.Code, globex.Code)
	}
	if receiptOf(t, acme).OrderID == receiptOf(t, globex).OrderID {
		t.Error("two clients' orders share an order id")
	}
	for token, want := range map[string]string{acmeToken: acme.Body.String(), globexToken: globex.Body.String()} {
		if replay := w.postAs(token, "shared-key", msft100); replay.Code != 200 || replay.Body.String() != want {
			t.Errorf("replay: %d %s, want the client's own receipt %s", replay.Code, replay.Body.String(), want)
		}
	}
	if _, ok := w.kv.Stored("result:acme:shared-key"); !ok {
		t.Error("acme's result is not stored under its scope")
	}
}

// Another client's record, completed or in progress, is invisible: it can
// neither block (409) nor refuse (422) an order.
func TestAClientCannotBeBlockedByAnotherClientsRecord(t *testing.T) {
	t.Parallel()
	w := newAuthWorker(t)
	var globexDuring *httptest.ResponseRecorder
	w.placer.during = func() {
		globexDuring = w.postAs(globexToken, "k", msft100)
	}
	w.postAs(acmeToken, "k", `{"symbol":"AAPL","side":"sell","quantity":5}`)
	if globexDuring.Code != 201 {
		t.Errorf("globex while acme's claim is held: %d %s", globexDuring.Code, globexDuring.Body.String())
	}
	if rec := w.postAs(globexToken, "k2", msft100); rec.Code != 201 {
		t.Fatal(rec.Code)
	}
	if rec := w.postAs(acmeToken, "k2", `{"symbol":"AAPL","side":"sell","quantity":5}`); rec.Code != 201 {
		t.Errorf("acme with a key globex completed for another order: %d %s", rec.Code, rec.Body.String())
	}
}

func TestMalformedClientsSettingFailsClosed(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	secret := tokenHash(acmeToken)
	_, err := ParseSettings(func(name string) string {
		return map[string]string{"CLIENT_TOKENS": "acme=" + secret}[name]
	})
	w.reconfigure(Settings{}, err)
	rec := w.do("POST", "/orders", msft100, "Idempotency-Key", "k")
	wantError(t, rec, 500, "misconfigured")
	if strings.Contains(rec.Body.String(), secret[:16]) || strings.Contains(w.logs.b.String(), secret[:16]) {
		t.Error("the secret setting leaked into the answer or the log")
	}
	if w.placer.placed() != 0 {
		t.Error("placed an order while misconfigured")
	}
}

func TestTokensNeverReachLogsOrAnswers(t *testing.T) {
	t.Parallel()
	w := newAuthWorker(t)
	answers := w.postAs(acmeToken, "k", msft100).Body.String() +
		w.postAs(acmeToken, "k", msft100).Body.String() +
		w.postAs(acmeToken+"x", "k", msft100).Body.String() +
		w.postAs(acmeToken, "k", `{"bad":1}`).Body.String()
	if all := answers + w.logs.b.String(); strings.Contains(all, acmeToken) {
		t.Errorf("a token leaked: %s", all)
	}
}

// A misconfigured setting is reported to authenticated clients only.
func TestMisconfigurationIsBehindAuthentication(t *testing.T) {
	t.Parallel()
	w := newWorker(t)
	settings, err := ParseSettings(func(name string) string {
		return map[string]string{"CLIENT_TOKENS": twoClients, "PENDING_LEASE_SECONDS": "0"}[name]
	})
	if err == nil || settings.Clients == nil {
		t.Fatalf("ParseSettings = %+v, %v; want the clients and the lease error", settings, err)
	}
	w.reconfigure(settings, err)
	anonymous := w.do("POST", "/orders", msft100, "Idempotency-Key", "k")
	wantError(t, anonymous, 401, "unauthorized")
	if strings.Contains(anonymous.Body.String(), "PENDING_LEASE_SECONDS") {
		t.Error("an anonymous caller learned about the configuration")
	}
	wantError(t, w.postAs(acmeToken, "k", msft100), 500, "misconfigured")
}
