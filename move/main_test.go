package move_test

import (
	"os"
	"testing"

	"github.com/casevault/casevault/vault/s3/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.Run(m)) }
