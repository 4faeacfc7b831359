package vault

import (
	"testing"
	"time"
)

func TestCeremonies(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	t.Run("SingleUse", func(t *testing.T) {
		var c ceremonies
		id, err := c.put(&ceremony{purpose: "sign_in", expires: now.Add(PasskeyCeremonyTTL)}, now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.take(id, "register", now); !IsCode(err, EUNAUTHORIZED) {
			t.Errorf("take for another purpose: got %v, want unauthorized", err)
		}
		id, _ = c.put(&ceremony{purpose: "sign_in", expires: now.Add(PasskeyCeremonyTTL)}, now)
		if _, err := c.take(id, "sign_in", now); err != nil {
			t.Errorf("first take: %v", err)
		}
		if _, err := c.take(id, "sign_in", now); !IsCode(err, EUNAUTHORIZED) {
			t.Errorf("second take: got %v, want unauthorized", err)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		var c ceremonies
		id, _ := c.put(&ceremony{purpose: "sign_in", expires: now.Add(PasskeyCeremonyTTL)}, now)
		if _, err := c.take(id, "sign_in", now.Add(PasskeyCeremonyTTL)); !IsCode(err, EUNAUTHORIZED) {
			t.Errorf("take at expiry: got %v, want unauthorized", err)
		}
	})
	t.Run("Bounded", func(t *testing.T) {
		var c ceremonies
		for i := 0; i < maxCeremonies; i++ {
			if _, err := c.put(&ceremony{purpose: "sign_in", expires: now.Add(PasskeyCeremonyTTL)}, now); err != nil {
				t.Fatalf("put %d: %v", i, err)
			}
		}
		if _, err := c.put(&ceremony{purpose: "sign_in", expires: now.Add(PasskeyCeremonyTTL)}, now); !IsCode(err, EUNAVAILABLE) {
			t.Errorf("put over the bound: got %v, want unavailable", err)
		}
		// Once they expire, there is room again.
		if _, err := c.put(&ceremony{purpose: "sign_in", expires: now.Add(2 * PasskeyCeremonyTTL)}, now.Add(PasskeyCeremonyTTL)); err != nil {
			t.Errorf("put after expiry: %v", err)
		}
	})
}
