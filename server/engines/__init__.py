"""Engines: a request in, a stream of tokens out (see ``base.Engine``)."""
