//go:build tools

package tools

import (
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
	_ "github.com/yalue/onnxruntime_go"
	_ "golang.org/x/sys/cpu"
	_ "gonum.org/v1/plot"
	_ "google.golang.org/protobuf/proto"
	_ "gopkg.in/yaml.v3"
)
