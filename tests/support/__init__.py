"""Helpers the tests share: repositories, SMTP, loopback ports, times and a model of impact.com's
API. None of them imports the product, so no test takes its expectations from the code it tests.
"""
