package verifier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Online is the outcome of a check against beacon providers.
type Online struct {
	Results  []Result  `json:"results"`
	Attempts []Attempt `json:"failed_attempts"`
	// ForkSource says where the fork schedule came from.
	ForkSource string `json:"fork_schedule"`
}

// CheckOnline fetches genesis, the fork schedule, the bootstrap for the
// trusted checkpoint block root and the updates from its period up to
// period (0: just the bootstrap's period), then walks them. Every failed
// request is recorded with its classification; a failure of every
// provider is returned as a *FetchError.
func CheckOnline(ctx context.Context, c *Client, checkpoint Root, period uint64) (*Online, error) {
	out := &Online{}
	defer func() { out.Attempts = c.Attempts }()
	gb, _, err := c.Get(ctx, "/eth/v1/beacon/genesis", func(b []byte) error { _, err := DecodeGenesis(b); return err })
	if err != nil {
		return out, err
	}
	genesis, _ := DecodeGenesis(gb)
	forks := MainnetForks
	out.ForkSource = "built-in mainnet schedule"
	if fb, ep, err := c.Get(ctx, "/eth/v1/config/fork_schedule", func(b []byte) error { _, err := DecodeForkSchedule(b); return err }); err == nil {
		forks, _ = DecodeForkSchedule(fb)
		out.ForkSource = ep
	} else if ctx.Err() != nil {
		return out, ctx.Err()
	}
	root := "0x" + hex.EncodeToString(checkpoint[:])
	bb, bootEP, err := c.Get(ctx, "/eth/v1/beacon/light_client/bootstrap/"+root, func(b []byte) error { _, err := DecodeBootstrap(b); return err })
	if err != nil {
		return out, err
	}
	boot, _ := DecodeBootstrap(bb)
	start := PeriodAt(boot.Header.Slot)
	if period == 0 {
		period = start
	}
	if period < start {
		return out, fmt.Errorf("period %d is before the checkpoint's period %d: choose a newer checkpoint", period, start)
	}
	count := period - start + 1
	if count > 128 {
		return out, fmt.Errorf("period %d is %d periods after the checkpoint's (%d): at most 128 at a time", period, count, start)
	}
	ub, updEP, err := c.Get(ctx, fmt.Sprintf("/eth/v1/beacon/light_client/updates?start_period=%d&count=%d", start, count), func(b []byte) error { _, err := DecodeUpdates(b); return err })
	if err != nil {
		return out, err
	}
	updates, _ := DecodeUpdates(ub)
	k := NewChecker(genesis, forks)
	results, err := k.Walk(boot, &checkpoint, updates)
	if err != nil {
		return out, err
	}
	sum := sha256.Sum256(ub)
	for i := range results {
		results[i].Source = "beacon " + updEP
		results[i].Endpoint = updEP
		results[i].InputSHA256 = hex.EncodeToString(sum[:])
	}
	_ = bootEP
	out.Results = results
	return out, nil
}
