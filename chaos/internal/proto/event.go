package proto

// Event kinds a client reports, one JSON object per line on its stdout.
const (
	EvStart     = "start"     // process up, session established
	EvSession   = "session"   // a session state change (evidence for the report)
	EvAcquired  = "acquired"  // Lock/Campaign returned a lease
	EvOp        = "op"        // one register operation, with its outcome
	EvReleasing = "releasing" // the holder stops acting and calls Unlock/Resign
	EvReleased  = "released"  // Unlock/Resign returned
	EvLost      = "lost"      // the lease's Done closed while held
	EvError     = "error"     // Lock/Campaign failed
	EvExit      = "exit"      // clean shutdown done
)

// Keys: the two coordination primitives contended for, each guarding a
// register of its own.
const (
	KeyMutex    = "mutex"
	KeyElection = "election"
)

// Registers: the same writes go to a fenced register and to an unfenced
// one, so that one run proves both that fencing holds and that the checker
// would have seen it fail.
const (
	RegFenced   = "fenced"
	RegUnfenced = "unfenced"
)

// Op outcomes.
const (
	OutOK       = "ok"       // write accepted, or read answered
	OutRejected = "rejected" // write refused: its token is below the highest seen
	OutUnknown  = "unknown"  // sent, but no answer: it may or may not have taken effect
	OutNotSent  = "notsent"  // never left the client (dial failed): no effect
)

// Causes of a loss or of an epoch's end.
const (
	CauseSafeDeadline = "safe-deadline" // session.ErrSafeDeadline
	CauseExpired      = "expired"       // session.ErrExpired
	CauseClosed       = "closed"        // session.ErrClosed
	CauseOther        = "other"         // e.g. the node deleted
)

// Event is one line of a client's report. Times are on the shared clock
// (Now). Fields not meaningful for a kind are left zero.
type Event struct {
	Ev     string `json:"ev"`
	Client int    `json:"c"`
	T      int64  `json:"t"`

	Key   string `json:"key,omitempty"`
	Token int64  `json:"tok,omitempty"`
	// Deadline is the lease's safe deadline: its session epoch's Deadline
	// when the event was written, on the shared clock.
	Deadline int64 `json:"dl,omitempty"`
	// Epoch and Session identify the session epoch the lease belongs to.
	Epoch   uint64 `json:"epoch,omitempty"`
	Session int64  `json:"sess,omitempty"`
	// EpochGuess: the lease's epoch could not be proved (see the client).
	EpochGuess bool   `json:"guess,omitempty"`
	Path       string `json:"path,omitempty"`
	State      string `json:"state,omitempty"` // session events
	Err        string `json:"err,omitempty"`
	// Cause classifies a loss or an epoch's end: CauseSafeDeadline,
	// CauseExpired, CauseClosed, or CauseOther.
	Cause string `json:"cause,omitempty"`
	Pid   int    `json:"pid,omitempty"`

	Op *Op `json:"op,omitempty"`
}

// Op is one register operation as the client saw it.
type Op struct {
	ID    string `json:"id"`
	Reg   string `json:"reg"`
	Kind  string `json:"kind"` // "w" or "r"
	Value string `json:"val,omitempty"`
	// Call is taken just before the request is written, Ret just after the
	// answer is read (0 when there was none).
	Call    int64  `json:"call"`
	Ret     int64  `json:"ret,omitempty"`
	Outcome string `json:"out"`
	// What a read returned.
	ReadTok int64  `json:"rtok,omitempty"`
	ReadVal string `json:"rval,omitempty"`
	// Held: the lease's Err was nil when the op was issued. Zombie: issued
	// on purpose after the lease was lost, with its old token.
	Held   bool `json:"held,omitempty"`
	Zombie bool `json:"zombie,omitempty"`
}

// Record is one request as the register received it: its log is the
// ground truth of what was written, in the order it happened.
type Record struct {
	Seq    int64  `json:"seq"`
	ID     string `json:"id"`
	Client int    `json:"c"`
	Key    string `json:"key"`
	Kind   string `json:"kind"`
	Token  int64  `json:"tok,omitempty"`
	Value  string `json:"val,omitempty"`
	// Accepted: a write took effect. High is the highest accepted token of
	// the key before this request.
	Accepted bool  `json:"acc,omitempty"`
	High     int64 `json:"high"`
	// RecvT: on the shared clock, taken under the register's lock, so
	// RecvT order is the order requests took effect.
	RecvT   int64  `json:"recv"`
	ReadTok int64  `json:"rtok,omitempty"`
	ReadVal string `json:"rval,omitempty"`
}
