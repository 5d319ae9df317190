"""The Telegram bot, the terminal chat and the ``summit-bot`` command line.

Importing this package imports nothing heavy: ``telegram`` is only loaded by
``summit-bot run``.
"""
