package session

// CreditReplies turns on the control behaviour: every reply credits the
// deadline, as before the leader proof (see leaderProof), for tests that
// show what it lets through.
func CreditReplies(cfg *Config) { cfg.creditReplies = true }
