"""Tests of the local UP42 job API (up42_sandbox)."""
