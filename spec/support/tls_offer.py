"""Offers a TLS server one protocol version and suite at a time; prints what was agreed.

    python3 tls_offer.py HOST PORT CA_FILE VERSION[:SUITE] ...

VERSION is 1.1, 1.2 or 1.3; SUITE an OpenSSL TLS 1.2 cipher name (TLS 1.3 takes the
defaults). Prints one line per offer: the offer, then `version suite` or `refused`.
"""
import socket
import ssl
import sys
import warnings

# TLS 1.1 is offered on purpose, to see it refused.
warnings.simplefilter("ignore", DeprecationWarning)

VERSIONS = {
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


def offer(host, port, ca_file, version, suite):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(ca_file)
    context.check_hostname = False
    # Let this client offer what it is asked to, however old: the server is what is tested.
    context.set_ciphers("ALL:@SECLEVEL=0" if suite is None else suite + ":@SECLEVEL=0")
    context.minimum_version = context.maximum_version = VERSIONS[version]
    try:
        with socket.create_connection((host, port), timeout=5) as raw:
            with context.wrap_socket(raw) as tls:
                return "%s %s" % (tls.version(), tls.cipher()[0])
    except (ssl.SSLError, ConnectionError, OSError):
        return "refused"


def main():
    host, port, ca_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    for arg in sys.argv[4:]:
        version, _, suite = arg.partition(":")
        print(arg, offer(host, port, ca_file, version, suite or None))


main()
