"""Helpers of the readability grading (`qrcheck.grade`): the QR symbol's layout."""
