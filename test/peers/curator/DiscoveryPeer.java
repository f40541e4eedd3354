/*
 * A Curator x-discovery peer for zkwire's service discovery interop tests
 * (test/recipes/discovery-interop.test.ts).
 *
 *   java DiscoveryPeer CONNECT BASE_PATH ID
 *
 * Runs one ServiceDiscovery (payload type Map, Curator's default JSON serializer) on BASE_PATH and reads
 * commands from stdin, one per line, answering each with one JSON line on stdout:
 *   register NAME ID ADDRESS PORT PAYLOAD_JSON -> {"event":"registered","instanceId":ID,"data":<the node's
 *                                                 bytes as text>}
 *   update NAME ID ADDRESS PORT PAYLOAD_JSON   -> {"event":"updated","instanceId":ID}
 *   unregister NAME ID                         -> {"event":"unregistered","instanceId":ID}
 *   names                                      -> {"event":"names","names":[...]}
 *   query NAME                                 -> {"event":"instances","name":...,"instances":[{instance},...]}
 *   watch NAME                                 -> {"event":"watching"}, then on every change of the cache
 *                                                 {"event":"cache","name":...,"ids":[...sorted]}
 *   quit                                       -> closes everything, {"event":"done"}, exit 0
 * An {instance} is {name,id,address,port,sslPort,payload,registrationTimeUTC,serviceType,uriSpec}, with
 * the payload as Curator deserialized it and the uriSpec as the template of the parts Curator parsed.
 * {"event":"ready"} once connected and started; {"event":"error","message":...} and exit 1 on failure
 * (exit 2: wrong arguments). Every line carries the program's "id":ID after "event" too. The plumbing is
 * PeerIo's; the answers are written by Jackson (see emit).
 */
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.x.discovery.ServiceCache;
import org.apache.curator.x.discovery.ServiceDiscovery;
import org.apache.curator.x.discovery.ServiceDiscoveryBuilder;
import org.apache.curator.x.discovery.ServiceInstance;
import org.apache.curator.x.discovery.UriSpec;
import org.apache.curator.x.discovery.details.ServiceCacheListener;

public final class DiscoveryPeer {
    private static final ObjectMapper JSON = new ObjectMapper();

    public static void main(String[] args) {
        PeerIo.main(args, DiscoveryPeer::run);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static void run(String[] args) throws Exception {
        if (args.length != 3) PeerIo.usage("usage: DiscoveryPeer CONNECT BASE_PATH ID");
        PeerIo.id = args[2];
        CuratorFramework client = PeerIo.client(args[0], 15_000, 15_000, new RetryNTimes(3, 200));
        List<ServiceCache<Map>> caches = new ArrayList<>();
        ServiceDiscovery<Map> discovery = ServiceDiscoveryBuilder.builder(Map.class)
                .client(client)
                .basePath(args[1])
                .build();
        discovery.start();
        emit(PeerIo.event("ready"));
        BufferedReader stdin = PeerIo.stdin();
        for (String line; (line = stdin.readLine()) != null; ) {
            String[] w = line.trim().split(" ", 6);
            switch (w[0]) {
                case "register":
                case "update": {
                    ServiceInstance<Map> instance = ServiceInstance.<Map>builder()
                            .name(w[1])
                            .id(w[2])
                            .address(w[3])
                            .port(Integer.parseInt(w[4]))
                            .payload(JSON.readValue(w[5], Map.class))
                            .build();
                    PeerIo.Json out = PeerIo.event(w[0].equals("register") ? "registered" : "updated");
                    out.put("instanceId", w[2]);
                    if (w[0].equals("register")) {
                        discovery.registerService(instance);
                        String path = args[1] + "/" + w[1] + "/" + w[2];
                        out.put("data", new String(client.getData().forPath(path), StandardCharsets.UTF_8));
                    } else {
                        discovery.updateService(instance);
                    }
                    emit(out);
                    break;
                }
                case "unregister": {
                    discovery.unregisterService(discovery.queryForInstance(w[1], w[2]));
                    emit(PeerIo.event("unregistered").put("instanceId", w[2]));
                    break;
                }
                case "names": {
                    List<String> names = new ArrayList<>(discovery.queryForNames());
                    Collections.sort(names);
                    emit(PeerIo.event("names").put("names", names));
                    break;
                }
                case "query": {
                    List<Object> instances = new ArrayList<>();
                    for (ServiceInstance<Map> instance : discovery.queryForInstances(w[1])) {
                        instances.add(describe(instance));
                    }
                    emit(PeerIo.event("instances").put("name", w[1]).put("instances", instances));
                    break;
                }
                case "watch": {
                    String name = w[1];
                    ServiceCache<Map> cache = discovery.serviceCacheBuilder().name(name).build();
                    cache.addListener(new ServiceCacheListener() {
                        @Override
                        public void cacheChanged() {
                            List<String> ids = new ArrayList<>();
                            for (ServiceInstance<Map> instance : cache.getInstances()) ids.add(instance.getId());
                            Collections.sort(ids);
                            emit(PeerIo.event("cache").put("name", name).put("ids", ids));
                        }

                        @Override
                        public void stateChanged(CuratorFramework c, ConnectionState state) {}
                    });
                    cache.start();
                    caches.add(cache);
                    emit(PeerIo.event("watching"));
                    break;
                }
                case "quit": {
                    for (ServiceCache<Map> cache : caches) cache.close();
                    discovery.close();
                    emit(PeerIo.event("done"));
                    client.close();
                    return;
                }
                default:
                    throw new IllegalArgumentException("unknown command: " + line);
            }
        }
        client.close();
    }

    private static Map<String, Object> describe(ServiceInstance<Map> instance) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("name", instance.getName());
        out.put("id", instance.getId());
        out.put("address", instance.getAddress());
        out.put("port", instance.getPort());
        out.put("sslPort", instance.getSslPort());
        out.put("payload", instance.getPayload());
        out.put("registrationTimeUTC", instance.getRegistrationTimeUTC());
        out.put("serviceType", String.valueOf(instance.getServiceType()));
        out.put("uriSpec", instance.getUriSpec() == null ? null : template(instance.getUriSpec()));
        return out;
    }

    /** The UriSpec as its template again: variables in braces, as Curator parsed them. */
    private static String template(UriSpec spec) {
        StringBuilder out = new StringBuilder();
        for (UriSpec.Part part : spec.getParts()) {
            out.append(part.isVariable() ? "{" + part.getValue() + "}" : part.getValue());
        }
        return out.toString();
    }

    /**
     * Written with Jackson, as Curator writes the payload, rather than PeerIo's Json: the payload and the
     * instance carry nulls and whatever numbers Jackson read, and go back out as Jackson writes them.
     */
    private static void emit(PeerIo.Json json) {
        String line;
        try {
            line = JSON.writeValueAsString(json.fields());
        } catch (Exception e) {
            line = "{\"event\":\"error\",\"message\":\"cannot write JSON\"}";
        }
        PeerIo.println(line);
    }
}
