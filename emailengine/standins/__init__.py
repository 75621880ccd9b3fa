"""Loopback stand-ins for what cannot run on a developer machine or in `ee demo`: a DNS server
serving test zones, PowerMTA's management API and `pmta` command, MailWizz's API,
scraper-pro and Telegram. Used by the test suite and by `ee demo`; never by production jobs.
"""
