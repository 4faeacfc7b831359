package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/casevault/casevault/audit"
)

// witnessFlags are the --witness and --witnesses flags of audit verify.
type witnessFlags struct {
	keys witnessKeyList
	min  int
}

// witnessKeyList is the repeatable --witness flag.
type witnessKeyList []string

func (w *witnessKeyList) String() string { return strings.Join(*w, ",") }

func (w *witnessKeyList) Set(v string) error {
	if _, err := audit.ParseCosignatureKey(v); err != nil {
		return err
	}
	*w = append(*w, v)
	return nil
}

func (wf *witnessFlags) register(fs *flag.FlagSet) {
	fs.Var(&wf.keys, "witness", "a witness's cosignature verifier `key` (name+hash+base64, as its operator publishes it): the bundle's checkpoint must be cosigned by it; repeatable")
	fs.IntVar(&wf.min, "witnesses", 0, "how many of the --witness keys must have cosigned the bundle's checkpoint (`K`; default: all of them)")
}

// check reports a usage error of the flags, or "".
func (wf *witnessFlags) check() string {
	switch {
	case wf.min < 0:
		return "--witnesses must not be negative"
	case wf.min > 0 && len(wf.keys) == 0:
		return "--witnesses needs --witness keys: name the witnesses whose cosignatures are required"
	case wf.min > len(wf.keys):
		return fmt.Sprintf("--witnesses %d: only %d --witness keys are given; name each required witness with --witness", wf.min, len(wf.keys))
	}
	return ""
}

func (wf *witnessFlags) apply(opts *audit.VerifyOptions) {
	opts.Witnesses, opts.MinWitnesses = wf.keys, wf.min
}

// printCosigners says which witnesses cosigned the bundle's checkpoint.
func printCosigners(w io.Writer, res *audit.VerifyResult, wf *witnessFlags) {
	if len(wf.keys) == 0 {
		return
	}
	k := wf.min
	if k == 0 {
		k = len(wf.keys)
	}
	fmt.Fprintf(w, "Witnesses: %d of the %d given cosigned the bundle's checkpoint (%d required).\n", len(res.Cosigners), len(wf.keys), k)
	for _, c := range res.Cosigners {
		fmt.Fprintf(w, "Witness %s cosigned it at %s.\n", c.Name, c.Time.UTC().Format(time.RFC3339))
	}
}
