*	€€€€ÿB
bf16_typed