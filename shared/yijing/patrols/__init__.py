"""Patrols (巡防): planned shifts on a site's routes, whose checkpoints volunteers scan (QR or NFC); the
routes are the sub-package `routes`."""
