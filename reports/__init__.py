"""Documents built from stored results: HTML and PDF reports, CI exports."""
