"""Training: labelled data -> a fine-tuned model version in the registry (imports monitor only)."""
