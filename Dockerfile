# syntax=docker/dockerfile:1
# Build stage: Debian 12 runs build.sh, which fetches the pinned Debian source
# packages, checks their SHA-256 sums and links one static musl binary.
FROM debian:12 AS build
WORKDIR /src
COPY . .
RUN ./build.sh release && ./out/t9phone version \
 && mkdir -p /image/data /image/etc/ssl/certs \
 && cp out/t9phone /image/t9phone \
 && cp /etc/ssl/certs/ca-certificates.crt /image/etc/ssl/certs/ \
 && chown 10001:10001 /image/data && chmod 0700 /image/data

# Run stage: nothing but the binary, a CA bundle for SMTP over TLS, and /data.
FROM scratch
COPY --from=build /image/ /
ENV T9PHONE_DATA_DIR=/data \
    T9PHONE_PORTAL_IP=0.0.0.0
USER 10001:10001
VOLUME ["/data"]
# portal HTTP, SIP UDP+TCP and TLS, TURN/STUN UDP+TCP, TURN over TLS
EXPOSE 8080/tcp 5060/udp 5060/tcp 5061/tcp 3478/udp 3478/tcp 5349/tcp
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/t9phone", "healthcheck"]
ENTRYPOINT ["/t9phone"]
CMD ["serve"]
