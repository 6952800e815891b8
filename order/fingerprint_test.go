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

// Orders the first version could express, written with the new fields at
// their defaults: the first version's fingerprints and order ids (the same
// values as above, pinned again here so that neither table can drift).
func TestFingerprintOfDefaultsWrittenOutIsTheFirstVersions(t *testing.T) {
	t.Parallel()
	golden := []struct {
		body, fingerprint, unscopedID, scopedID string
	}{
		{`{"symbol":"MSFT","side":"buy","quantity":100,"type":"market"}`, "5addfe653991259d083ce0bd815020508bb13a14b05a750cd0128b4719456fe2", "7224ca73-2aa5-5bc6-9194-b07395500fa7", "75a1fb99-171e-5c89-be9d-4350e94b412a"},
		{`{"symbol":"MSFT","side":"buy","quantity":100,"timeInForce":"day"}`, "5addfe653991259d083ce0bd815020508bb13a14b05a750cd0128b4719456fe2", "7224ca73-2aa5-5bc6-9194-b07395500fa7", "75a1fb99-171e-5c89-be9d-4350e94b412a"},
		{`{"timeInForce":"day","type":"market","quantity":1e2,"side":"buy","symbol":"MSFT"}`, "5addfe653991259d083ce0bd815020508bb13a14b05a750cd0128b4719456fe2", "7224ca73-2aa5-5bc6-9194-b07395500fa7", "75a1fb99-171e-5c89-be9d-4350e94b412a"},
		{`{"symbol":"MSFT","side":"sell","quantity":100,"type":"market","timeInForce":"day"}`, "d6c4715965713a54df5fca96993893d8baf8f1620907ef8d1d8959e6f794ee47", "dd1e5b75-f89f-53bc-9ab4-549228e7f7d6", "f2b6abb1-2a2a-5e33-bbab-eb5bdaba4034"},
		{`{"symbol":"BTC-USD","side":"sell","quantity":9007199254740991,"type":"market","timeInForce":"day"}`, "a46c65023c796fc191bee7430d52922a6072e38a5e9d6b54ed9f8cfd40b5495e", "2c00a833-2541-54a4-94da-b6589b51f167", "bef270b8-85a7-55e4-ab7b-715b82f4620a"},
		{`{"symbol":"A&B<C>","side":"buy","quantity":7,"type":"market","timeInForce":"day"}`, "d8d315935ed8b651e4d7750d09b0ca0a9ceb3687e7220bada1cfc97da27bb8e5", "69a78d57-a211-5ce7-aba9-f6a6e1deda3b", "0bb01ab4-c6a5-5ea5-80c9-dcce8c6bb297"},
	}
	for _, g := range golden {
		checkFingerprint(t, g.body, g.fingerprint, g.unscopedID, g.scopedID)
	}
}

// The fingerprints and order ids of orders only the second version can
// express (limit orders, and times in force other than day), computed once by
// the second version and checked against sha256sum of the canonical form
// shown. They are pinned from now on, as the first version's are.
func TestFingerprintOfTheGrownSchemaIsPinned(t *testing.T) {
	t.Parallel()
	golden := []struct {
		body, canonical, fingerprint, unscopedID, scopedID string
	}{
		{`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45"}`,
			`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45"}`,
			"878f4db49d50b86b874412b84fd4be05c1086d00fdc23344d587f63ae0de9c0b", "af699ee3-61e2-58a0-83d0-412a8e5d2684", "914f3747-256e-5dab-b7e8-a373ce451340"},
		{`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.450","timeInForce":"day"}`,
			`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45"}`,
			"878f4db49d50b86b874412b84fd4be05c1086d00fdc23344d587f63ae0de9c0b", "af699ee3-61e2-58a0-83d0-412a8e5d2684", "914f3747-256e-5dab-b7e8-a373ce451340"},
		{`{"limitPrice":"0123.4500","quantity":1e2,"type":"limit","side":"buy","symbol":"MSFT"}`,
			`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45"}`,
			"878f4db49d50b86b874412b84fd4be05c1086d00fdc23344d587f63ae0de9c0b", "af699ee3-61e2-58a0-83d0-412a8e5d2684", "914f3747-256e-5dab-b7e8-a373ce451340"},
		{`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45","timeInForce":"gtc"}`,
			`{"symbol":"MSFT","side":"buy","quantity":100,"type":"limit","limitPrice":"123.45","timeInForce":"gtc"}`,
			"51d25ab73a2531a846fea460e3afc09dbb30038d65a51cc8f628779d36551327", "c505c7ec-3ead-5c7b-8493-d2fa186761ed", "213f1e12-772f-58f5-80bb-77ae7d1938f6"},
		{`{"symbol":"MSFT","side":"sell","quantity":100,"type":"limit","limitPrice":"123.45","timeInForce":"ioc"}`,
			`{"symbol":"MSFT","side":"sell","quantity":100,"type":"limit","limitPrice":"123.45","timeInForce":"ioc"}`,
			"212011c694f768320f23910e7ffcd2a032f8c07f379e3e1a5e6c06769dad0bd0", "b347f91d-9e64-5f03-bb35-4fdd6fe96d91", "7db97241-9663-5ef2-bbf6-3c267d12efbd"},
		{`{"symbol":"MSFT","side":"buy","quantity":100,"timeInForce":"gtc"}`,
			`{"symbol":"MSFT","side":"buy","quantity":100,"timeInForce":"gtc"}`,
			"99af24625fca3ffd473d982fa2a3b10d48b9ad1667a42486d2041a8d57a490e1", "778ed6a8-9da3-527d-b6e1-132aab6bd0fd", "468a9b66-a809-5de3-b07a-3512d3ce8e9e"},
		{`{"symbol":"MSFT","side":"buy","quantity":100,"type":"market","timeInForce":"ioc"}`,
			`{"symbol":"MSFT","side":"buy","quantity":100,"timeInForce":"ioc"}`,
			"54e1f065684b74b09b90ccd7c49d800b2144a5f09059345921ef2c53906a8f7f", "b27ad20d-55b3-5d32-8dc0-a85b2b1c4399", "fa6ba813-097d-5c4e-8543-63c3ae371b9a"},
		{`{"symbol":"BTC-USD","side":"buy","quantity":1,"type":"limit","limitPrice":"0.00000001"}`,
			`{"symbol":"BTC-USD","side":"buy","quantity":1,"type":"limit","limitPrice":"0.00000001"}`,
			"0f5006e3b13bde8f25f613803eaf1f4ac22812c0f8a89380dee0bfeb9cb8cee4", "7ea2516c-f08c-5054-9f7e-812147e7d097", "d56ee480-1755-5ad1-a686-1b958494d0cf"},
		{`{"symbol":"BRK.B","side":"sell","quantity":9007199254740991,"type":"limit","limitPrice":"1234567890.12345678","timeInForce":"gtc"}`,
			`{"symbol":"BRK.B","side":"sell","quantity":9007199254740991,"type":"limit","limitPrice":"1234567890.12345678","timeInForce":"gtc"}`,
			"076d710bdc4de73e1d655cc08e51f198480c10b238f15349dec0ab07cd88bb2c", "268c27f1-325e-50c4-a6e1-004e037a499c", "77c43c2d-a197-5737-a4cd-a9c4e00dc1be"},
		// encoding/json's HTML escaping stays part of the canonical form
		{`{"symbol":"A&B<C>","side":"buy","quantity":7,"type":"limit","limitPrice":"100.00","timeInForce":"ioc"}`,
			`{"symbol":"A\u0026B\u003cC\u003e","side":"buy","quantity":7,"type":"limit","limitPrice":"100","timeInForce":"ioc"}`,
			"abd437ae1d074994bc8e79ff7d9960cf5829bbc93eaffb01730f31acebb2a2f3", "179d61a4-544b-54c6-8697-ff50c666d896", "e883e141-6fd2-525a-b724-87e857a96f7d"},
	}
	for _, g := range golden {
		o := checkFingerprint(t, g.body, g.fingerprint, g.unscopedID, g.scopedID)
		if c := string(o.canonical()); c != g.canonical {
			t.Errorf("%s: canonical form\n got %s\nwant %s", g.body, c, g.canonical)
		}
	}
}

// checkFingerprint parses body and compares its fingerprint and order ids
// (for key-1, unscoped and scoped to acme) with the pinned ones.
func checkFingerprint(t *testing.T, body, fingerprint, unscopedID, scopedID string) Order {
	t.Helper()
	o, err := ParseOrder([]byte(body))
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	fp := o.Fingerprint()
	if fp != fingerprint {
		t.Errorf("%s: fingerprint %s, want %s", body, fp, fingerprint)
	}
	if id := OrderID("", "key-1", fp); id != unscopedID {
		t.Errorf("%s: unscoped order id %s, want %s", body, id, unscopedID)
	}
	if id := OrderID("acme", "key-1", fp); id != scopedID {
		t.Errorf("%s: order id scoped to acme %s, want %s", body, id, scopedID)
	}
	return o
}
