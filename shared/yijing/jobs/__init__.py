"""Background jobs: the typed registry both edges share, the job-run resource that reports progress, and the
one function that executes a job (the worker calls it; so does ``yijing jobs run``)."""
