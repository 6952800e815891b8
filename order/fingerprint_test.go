package order

import "testing"

// The fingerprints and order ids the first version gave these orders, computed
// with its code before the order schema grew. They must never move: a record
// the first version wrote is found, replayed or refused by its fingerprint,
// and a retry that spans an upgrade is placed under its order id.
func TestFingerprintAndOrderIDAreStableAcrossVersions(t *testing.T) {
	t.Parallel()
	golden := []struct {
		body, fingerprint, unscopedID, scopedID string
	}{
		{`{"symbol":"MSFT","side":"buy","quantity":100}`, "5addfe653991259d083ce0bd815020508bb13a14b05a750cd0128b4719456fe2", "7224ca73-2aa5-5bc6-9194-b07395500fa7", "75a1fb99-171e-5c89-be9d-4350e94b412a"},
		{`{"symbol":"MSFT","side":"buy","quantity":1e2}`, "5addfe653991259d083ce0bd815020508bb13a14b05a750cd0128b4719456fe2", "7224ca73-2aa5-5bc6-9194-b07395500fa7", "75a1fb99-171e-5c89-be9d-4350e94b412a"},
		{`{"symbol":"MSFT","side":"buy","quantity":100.0}`, "5addfe653991259d083ce0bd815020508bb13a14b05a750cd0128b4719456fe2", "7224ca73-2aa5-5bc6-9194-b07395500fa7", "75a1fb99-171e-5c89-be9d-4350e94b412a"},
		{`{"quantity":100,"side":"buy","symbol":"MSFT"}`, "5addfe653991259d083ce0bd815020508bb13a14b05a750cd0128b4719456fe2", "7224ca73-2aa5-5bc6-9194-b07395500fa7", "75a1fb99-171e-5c89-be9d-4350e94b412a"},
		{`{"symbol":"MSFT","side":"sell","quantity":100}`, "d6c4715965713a54df5fca96993893d8baf8f1620907ef8d1d8959e6f794ee47", "dd1e5b75-f89f-53bc-9ab4-549228e7f7d6", "f2b6abb1-2a2a-5e33-bbab-eb5bdaba4034"},
		{`{"symbol":"BRK.B","side":"buy","quantity":1}`, "720dc3363e8132d08e21c6311423185bb57df78e40ad8f0a693dbcbb4fce2f18", "3764d098-f620-5164-a9c9-ee26119c0804", "d478dfef-b2f5-5f84-ab1a-bdc787139395"},
		{`{"symbol":"BTC-USD","side":"sell","quantity":9007199254740991}`, "a46c65023c796fc191bee7430d52922a6072e38a5e9d6b54ed9f8cfd40b5495e", "2c00a833-2541-54a4-94da-b6589b51f167", "bef270b8-85a7-55e4-ab7b-715b82f4620a"},
		{`{"symbol":"aapl","side":"buy","quantity":42}`, "012a05846918c6fb1a1b634bc883adf31f8281c1763ea576f0a581321bbad02d", "b29ffc81-e8c9-555a-8b7e-34420337d173", "ceaf5d24-d638-5cc0-9aba-6a2e1f93da70"},
		{`{"symbol":"A&B<C>","side":"buy","quantity":7}`, "d8d315935ed8b651e4d7750d09b0ca0a9ceb3687e7220bada1cfc97da27bb8e5", "69a78d57-a211-5ce7-aba9-f6a6e1deda3b", "0bb01ab4-c6a5-5ea5-80c9-dcce8c6bb297"},
	}
	for _, g := range golden {
		o, err := ParseOrder([]byte(g.body))
		if err != nil {
			t.Fatalf("%s: %v", g.body, err)
		}
		fp := o.Fingerprint()
		if fp != g.fingerprint {
			t.Errorf("%s: fingerprint %s, want %s", g.body, fp, g.fingerprint)
		}
		if id := OrderID("", "key-1", fp); id != g.unscopedID {
			t.Errorf("%s: unscoped order id %s, want %s", g.body, id, g.unscopedID)
		}
		if id := OrderID("acme", "key-1", fp); id != g.scopedID {
			t.Errorf("%s: order id scoped to acme %s, want %s", g.body, id, g.scopedID)
		}
	}
}
