"""Hazards (隐患): reported, verified, rectified and eliminated — or closed without a fix — with photos."""
