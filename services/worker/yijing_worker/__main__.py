"""``python -m yijing_worker``: the background worker against the configured servers."""

from yijing_worker.runner import main

main()
