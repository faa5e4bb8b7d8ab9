#!/bin/sh
# Test updown script: does nothing.
exit 0
