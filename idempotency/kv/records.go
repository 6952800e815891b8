package kv

import (
	"encoding/base64"
	"unicode/utf8"

	"github.com/orderintake/edge/idempotency"
)

// The records as this package stores them, for other stores that keep the
// same bytes (package redis): a claim is the JSON of idempotency.Claim, a
// result the JSON of idempotency.Result, with a body that is not UTF-8 in
// bodyBase64 instead of body. where names the record in errors.

// EncodeClaim returns claim c as it is stored.
func EncodeClaim(c idempotency.Claim) ([]byte, error) {
	return marshalRecord(&c)
}

// EncodeResult returns result r as it is stored.
func EncodeResult(r idempotency.Result) ([]byte, error) {
	record := resultRecord{Result: r}
	if !utf8.ValidString(r.Body) {
		record.Body, record.BodyBase64 = "", base64.StdEncoding.EncodeToString([]byte(r.Body))
	}
	return marshalRecord(&record)
}

// DecodeClaim decodes a stored claim; an error wrapping
// idempotency.ErrCorruptRecord when it cannot.
func DecodeClaim(raw, where string) (*idempotency.Claim, error) {
	return decodeRecord(raw, where, validClaim)
}

// DecodeResult decodes a stored result; an error wrapping
// idempotency.ErrCorruptRecord when it cannot.
func DecodeResult(raw, where string) (*idempotency.Result, error) {
	record, err := decodeRecord(raw, where, decodeResult)
	if err != nil {
		return nil, err
	}
	return &record.Result, nil
}
