// CLI tests: see CLITests.swift
