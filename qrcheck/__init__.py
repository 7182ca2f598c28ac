"""qrcheck: QR postings for administrative procedures.

Generate a QR posting for every procedure of a service center's catalog, check phone photos
of the boards, and flag postings whose links are outdated, abolished or fake.
"""

__version__ = "0.1.0"
