// Package fault decides, request by request, whether an emulator should
// misbehave: answer with a server error, throttle, reset the connection or
// respond late. Each emulator renders a Decision in its own protocol (OSS XML
// 500/503, ECS JSON Throttling, ...); this package only decides.
package fault

import (
	"math/rand"
	"sync"
	"time"
)

// Kind is what an emulator should do with one request.
type Kind int

const (
	// None: serve the request normally.
	None Kind = iota
	// ServerError: answer with an internal server error (HTTP 500/503).
	ServerError
	// Throttle: answer with the protocol's throttling error.
	Throttle
	// Reset: drop the connection without a response.
	Reset
	// Delay: sleep Decision.Delay, then serve normally.
	Delay
	// LoseResponse: process the request but drop the connection instead of
	// answering, as when the response is lost on the network. Only
	// enqueued (Enqueue), never drawn from the rates. Emulators that do not
	// model it serve the request normally.
	LoseResponse
)

// String names the kind, for test messages.
func (k Kind) String() string {
	switch k {
	case None:
		return "None"
	case ServerError:
		return "ServerError"
	case Throttle:
		return "Throttle"
	case Reset:
		return "Reset"
	case Delay:
		return "Delay"
	case LoseResponse:
		return "LoseResponse"
	}
	return "Kind(?)"
}

// Config sets the share of requests (0..1 each) that get each fault. The
// rates are cumulative slices of one draw, checked in the order ErrorRate,
// ThrottleRate, ResetRate, DelayRate; their sum should not exceed 1.
// Delay is how long a delayed request waits. Seed makes the sequence of
// decisions reproducible; 0 seeds from the clock.
type Config struct {
	ErrorRate, ThrottleRate, ResetRate, DelayRate float64
	Delay                                         time.Duration
	Seed                                          int64
}

// Decision is the outcome for one request. Delay is set only for Kind Delay.
type Decision struct {
	Kind  Kind
	Delay time.Duration
}

// Injector makes decisions. It is safe for concurrent use; a nil *Injector
// always decides None.
type Injector struct {
	mu     sync.Mutex
	cfg    Config
	rnd    *rand.Rand
	queue  []Decision
	counts map[Kind]int64
}

// New returns an Injector with configuration c.
func New(c Config) *Injector {
	i := &Injector{counts: map[Kind]int64{}}
	i.Set(c)
	return i
}

// Set replaces the configuration and reseeds the random source.
func (i *Injector) Set(c Config) {
	seed := c.Seed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.cfg = c
	i.rnd = rand.New(rand.NewSource(seed))
}

// Config returns the current configuration.
func (i *Injector) Config() Config {
	if i == nil {
		return Config{}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.cfg
}

// Enqueue makes the next len(ds) decisions exactly ds, in order, before the
// random rates apply again. Tests use it for deterministic failures such as
// "the next two requests get a 503".
func (i *Injector) Enqueue(ds ...Decision) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.queue = append(i.queue, ds...)
}

// Decide returns the decision for the next request.
func (i *Injector) Decide() Decision {
	if i == nil {
		return Decision{Kind: None}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	d := i.decideLocked()
	i.counts[d.Kind]++
	return d
}

func (i *Injector) decideLocked() Decision {
	if len(i.queue) > 0 {
		d := i.queue[0]
		i.queue = i.queue[1:]
		return d
	}
	c := i.cfg
	if c.ErrorRate+c.ThrottleRate+c.ResetRate+c.DelayRate <= 0 {
		return Decision{Kind: None}
	}
	r := i.rnd.Float64()
	switch {
	case r < c.ErrorRate:
		return Decision{Kind: ServerError}
	case r < c.ErrorRate+c.ThrottleRate:
		return Decision{Kind: Throttle}
	case r < c.ErrorRate+c.ThrottleRate+c.ResetRate:
		return Decision{Kind: Reset}
	case r < c.ErrorRate+c.ThrottleRate+c.ResetRate+c.DelayRate:
		return Decision{Kind: Delay, Delay: c.Delay}
	}
	return Decision{Kind: None}
}

// Count returns how many decisions of kind k have been made so far.
func (i *Injector) Count(k Kind) int64 {
	if i == nil {
		return 0
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.counts[k]
}
