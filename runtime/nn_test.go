package runtime

import "testing"

func TestNNConvNodes(t *testing.T) {
	nnNodeTests(t, "node", []string{"test_conv_", "test_basic_conv_"}, nil)
	nnNodeTests(t, "pytorch-converted", []string{"test_Conv1d", "test_Conv2d", "test_Conv3d"}, nil)
}

func TestNNPoolNodes(t *testing.T) {
	nnNodeTests(t, "node", []string{"test_maxpool_", "test_averagepool_", "test_global", "test_lppool"}, nil)
	nnNodeTests(t, "pytorch-converted", []string{"test_AvgPool", "test_MaxPool"}, nil)
	nnNodeTests(t, "pytorch-operator", []string{"test_operator_maxpool"}, nil)
}

func TestNNNormNodes(t *testing.T) {
	nnNodeTests(t, "node", []string{"test_batchnorm_", "test_instancenorm_", "test_layer_normalization_", "test_lrn", "test_mvn"}, map[string]string{
		"test_batchnorm_epsilon_training_mode": "training mode is unsupported by design (inference runtime)",
		"test_batchnorm_example_training_mode": "training mode is unsupported by design (inference runtime)",
	})
	nnNodeTests(t, "pytorch-converted", []string{"test_BatchNorm"}, nil)
}

func TestNNSoftmaxNodes(t *testing.T) {
	nnNodeTests(t, "node", []string{"test_softmax_", "test_logsoftmax_", "test_hardmax_"}, nil)
	nnNodeTests(t, "pytorch-converted", []string{"test_Softmax", "test_LogSoftmax", "test_log_softmax", "test_softmax"}, nil)
}

func TestNNGemmNodes(t *testing.T) {
	nnNodeTests(t, "node", []string{"test_gemm_", "test_matmul_"}, nil)
	nnNodeTests(t, "pytorch-converted", []string{"test_Linear"}, nil)
	nnNodeTests(t, "pytorch-operator", []string{"test_operator_mm", "test_operator_addmm"}, nil)
}

func TestNNConvTransposeNodes(t *testing.T) {
	nnNodeTests(t, "node", []string{"test_convtranspose"}, nil)
	nnNodeTests(t, "pytorch-converted", []string{"test_ConvTranspose"}, nil)
	nnNodeTests(t, "pytorch-operator", []string{"test_operator_conv"}, nil)
}

func TestNNResizeNodes(t *testing.T) {
	nnNodeTests(t, "node", []string{"test_resize_", "test_upsample_"}, nil)
}

func TestNNDropoutNodes(t *testing.T) {
	random := "training-mode dropout with a non-zero ratio draws random masks; refused by design"
	nnNodeTests(t, "node", []string{"test_dropout_", "test_training_dropout"}, map[string]string{
		"test_training_dropout":              random,
		"test_training_dropout_default":      random,
		"test_training_dropout_default_mask": random,
		"test_training_dropout_mask":         random,
	})
}
