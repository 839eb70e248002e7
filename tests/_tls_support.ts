/**
 * Test support: a throwaway CA and server certificates made with `openssl`
 * (Debian package `openssl`), in a fresh temp directory.
 */

/** PEM files of one test PKI. */
export interface TestPki {
  /** The directory holding every file (remove it when done). */
  dir: string;
  /** The CA certificate dialers trust. */
  caFile: string;
  /** A server certificate for IP 127.0.0.1 and DNS localhost, signed by the CA. */
  certFile: string;
  /** Its key. */
  keyFile: string;
  /** A second, unrelated CA (for "untrusted" tests). */
  otherCaFile: string;
  /** A server certificate signed by the CA, valid only for `other.example`. */
  wrongNameCertFile: string;
  /** Its key. */
  wrongNameKeyFile: string;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-subj",
    `/CN=hypermesh test ${name}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

async function makeLeaf(dir: string, name: string, ca: string, san: string): Promise<void> {
  await openssl(dir, [
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${name}`,
  ]);
  await Deno.writeTextFile(
    `${dir}/${name}.ext`,
    `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n` +
      `extendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`,
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.pem`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.pem`,
    "-days",
    "2",
    "-extfile",
    `${name}.ext`,
  ]);
}

/**
 * Makes a CA, a second CA, and two server certificates in a fresh 0700 temp dir.
 * @returns The file paths.
 */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "hypermesh-pki-" });
  await makeCa(dir, "ca");
  await makeCa(dir, "other-ca");
  await makeLeaf(dir, "server", "ca", "IP:127.0.0.1,DNS:localhost");
  await makeLeaf(dir, "wrong-name", "ca", "DNS:other.example");
  return {
    dir,
    caFile: `${dir}/ca.pem`,
    certFile: `${dir}/server.pem`,
    keyFile: `${dir}/server.key`,
    otherCaFile: `${dir}/other-ca.pem`,
    wrongNameCertFile: `${dir}/wrong-name.pem`,
    wrongNameKeyFile: `${dir}/wrong-name.key`,
  };
}
