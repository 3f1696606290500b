"""ADaM -> endpoint results: analysis results data (ARD), ARS metadata, a report and record-level tracing."""
