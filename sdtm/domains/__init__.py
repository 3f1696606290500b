"""Domain code for what a spec cannot express: RECIST lesion linking, trial summary, subject elements."""
