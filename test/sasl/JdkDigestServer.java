// The JDK's own DIGEST-MD5 SaslServer, created the way ZooKeeper creates it (ZooKeeperSaslServer ->
// SecurityUtils.createSaslServer: mechanism "DIGEST-MD5", protocol "zookeeper", server name "zk-sasl-md5",
// no properties), with a callback handler that behaves like ZooKeeper's SaslServerCallbackHandler for a
// JAAS DigestLoginModule: known users get their password, the realm is the default one, any authzid is
// granted and the authorized id is the authentication id.
//
// Run with `java JdkDigestServer.java` (single-file source launch). Line protocol on stdin/stdout,
// tokens in base64 ("-" for an empty token):
//   new <user b64> <password b64>   -> "ok"                    (a fresh server with one known user)
//   step <token>                    -> "ok <token> <complete 0|1> <authorization id b64 or ->"
//                                    | "err <message>"         (the SaslException ZooKeeper would see)
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.PasswordCallback;
import javax.security.sasl.AuthorizeCallback;
import javax.security.sasl.RealmCallback;
import javax.security.sasl.Sasl;
import javax.security.sasl.SaslServer;

public class JdkDigestServer {
    static String b64(byte[] b) {
        return b == null || b.length == 0 ? "-" : Base64.getEncoder().encodeToString(b);
    }

    static byte[] unb64(String s) {
        return s.equals("-") ? new byte[0] : Base64.getDecoder().decode(s);
    }

    static String text(String s) {
        return new String(unb64(s), StandardCharsets.UTF_8);
    }

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        SaslServer server = null;
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.split(" ");
            try {
                if (w[0].equals("new")) {
                    final String user = text(w[1]);
                    final String password = text(w[2]);
                    CallbackHandler handler = callbacks -> {
                        String name = null;
                        for (Callback cb : callbacks) {
                            if (cb instanceof NameCallback) {
                                NameCallback nc = (NameCallback) cb;
                                name = nc.getDefaultName();
                                if (user.equals(name)) nc.setName(name);
                            } else if (cb instanceof PasswordCallback) {
                                if (user.equals(name)) ((PasswordCallback) cb).setPassword(password.toCharArray());
                            } else if (cb instanceof RealmCallback) {
                                RealmCallback rc = (RealmCallback) cb;
                                rc.setText(rc.getDefaultText());
                            } else if (cb instanceof AuthorizeCallback) {
                                AuthorizeCallback ac = (AuthorizeCallback) cb;
                                ac.setAuthorized(true);
                                ac.setAuthorizedID(ac.getAuthenticationID());
                            }
                        }
                    };
                    server = Sasl.createSaslServer("DIGEST-MD5", "zookeeper", "zk-sasl-md5", null, handler);
                    System.out.println("ok");
                } else if (w[0].equals("step")) {
                    byte[] out = server.evaluateResponse(unb64(w[1]));
                    boolean done = server.isComplete();
                    String id = done ? b64(server.getAuthorizationID().getBytes(StandardCharsets.UTF_8)) : "-";
                    System.out.println("ok " + b64(out) + " " + (done ? 1 : 0) + " " + id);
                } else {
                    System.out.println("err unknown command");
                }
            } catch (Exception e) {
                System.out.println("err " + String.valueOf(e.getMessage()).replace('\n', ' '));
            }
            System.out.flush();
        }
    }
}
