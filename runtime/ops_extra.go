package runtime

// extraOps is this file's op table (see registry.go): recurrent nets, losses, detection and signal ops. The
// builders live in extra_*.go.
var extraOps = map[string]Builder{
	"RNN":  xBuildRNN(xKindRNN),
	"GRU":  xBuildRNN(xKindGRU),
	"LSTM": xBuildRNN(xKindLSTM),
}
