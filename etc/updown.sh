#!/bin/sh
# aike's default updown script: logs each event and changes nothing. aiked runs it with
# strongSwan's PLUTO_* environment (docs/updown.md); copy it as the start of your own.
msg="$PLUTO_VERB $PLUTO_CONNECTION (IKE SA $PLUTO_UNIQUEID): $PLUTO_ME [$PLUTO_MY_ID]"
case "$PLUTO_VERB" in
  up-ike|down-ike) ;;
  *) msg="$msg $PLUTO_MY_CLIENT === $PLUTO_PEER_CLIENT" ;;
esac
msg="$msg $PLUTO_PEER [$PLUTO_PEER_ID]"
case "$PLUTO_VERB" in
  up-*) ;;
  *) [ -n "$AIKE_REASON" ] && msg="$msg: $AIKE_REASON" ;;
esac
case "$PLUTO_VERB" in
  up-ike|down-ike) ;;
  *) msg="$msg, reqid $PLUTO_REQID, SPIs $PLUTO_MY_SPI/$PLUTO_PEER_SPI${PLUTO_UDP_ENC:+, UDP encapsulated}" ;;
esac
if command -v logger >/dev/null 2>&1; then
  logger -t aike-updown -- "$msg" 2>/dev/null || echo "$msg" >&2
else
  echo "$msg" >&2
fi
exit 0
