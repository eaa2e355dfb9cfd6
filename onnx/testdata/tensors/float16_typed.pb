
*€x€€ÿ÷€øBfloat16_typed