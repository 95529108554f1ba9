package kith

import (
	"crypto/sha256"
	"crypto/subtle"
)

// MatchKey finds a presented key's holder among keys by the SHA-256 each keeps
// (only hashes of keys are ever held), comparing in constant time against every
// one: the time taken says nothing about which matched, or how much of it.
func MatchKey[T any](presented string, keys []T, hash func(T) [32]byte) (T, bool) {
	sum := sha256.Sum256([]byte(presented))
	var found T
	match := 0
	for _, k := range keys {
		h := hash(k)
		if subtle.ConstantTimeCompare(sum[:], h[:]) == 1 {
			found, match = k, 1
		}
	}
	return found, match == 1 && presented != ""
}
