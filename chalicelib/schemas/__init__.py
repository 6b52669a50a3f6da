"""pydantic models for JSON bodies and form posts, with French error messages.

Imported only by the handlers that need them (pydantic is not needed on every cold start).
"""
