/*
 * A Curator x-discovery peer for zkwire's service discovery interop tests
 * (test/recipes/discovery-interop.test.ts).
 *
 *   java DiscoveryPeer CONNECT BASE_PATH ID
 *
 * Runs one ServiceDiscovery (payload type Map, Curator's default JSON serializer) on BASE_PATH and reads
 * commands from stdin, one per line, answering each with one JSON line on stdout:
 *   register NAME ID ADDRESS PORT PAYLOAD_JSON -> {"event":"registered","id":...,"data":<the node's bytes as text>}
 *   update NAME ID ADDRESS PORT PAYLOAD_JSON   -> {"event":"updated","id":...}
 *   unregister NAME ID                         -> {"event":"unregistered","id":...}
 *   names                                      -> {"event":"names","names":[...]}
 *   query NAME                                 -> {"event":"instances","name":...,"instances":[{instance},...]}
 *   watch NAME                                 -> {"event":"watching"}, then on every change of the cache
 *                                                 {"event":"cache","name":...,"ids":[...sorted]}
 *   quit                                       -> closes everything, {"event":"done"}, exit 0
 * An {instance} is {name,id,address,port,sslPort,payload,registrationTimeUTC,serviceType,uriSpec}, with
 * the payload as Curator deserialized it and the uriSpec as the template of the parts Curator parsed. {"event":"ready"} once connected and started;
 * {"event":"error","message":...} and exit 1 on failure.
 */
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
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
    private static String id = "";

    @SuppressWarnings({"unchecked", "rawtypes"})
    public static void main(String[] args) throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        if (args.length != 3) {
            System.err.println("usage: DiscoveryPeer CONNECT BASE_PATH ID");
            System.exit(2);
        }
        id = args[2];
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(args[0])
                .sessionTimeoutMs(15_000)
                .connectionTimeoutMs(15_000)
                .retryPolicy(new RetryNTimes(3, 200))
                .build();
        List<ServiceCache<Map>> caches = new ArrayList<>();
        try {
            client.start();
            client.blockUntilConnected();
            ServiceDiscovery<Map> discovery = ServiceDiscoveryBuilder.builder(Map.class)
                    .client(client)
                    .basePath(args[1])
                    .build();
            discovery.start();
            emit(event("ready"));
            BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
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
                        Map<String, Object> out = event(w[0].equals("register") ? "registered" : "updated");
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
                        Map<String, Object> out = event("unregistered");
                        out.put("instanceId", w[2]);
                        emit(out);
                        break;
                    }
                    case "names": {
                        Map<String, Object> out = event("names");
                        List<String> names = new ArrayList<>(discovery.queryForNames());
                        Collections.sort(names);
                        out.put("names", names);
                        emit(out);
                        break;
                    }
                    case "query": {
                        Map<String, Object> out = event("instances");
                        out.put("name", w[1]);
                        List<Object> instances = new ArrayList<>();
                        for (ServiceInstance<Map> instance : discovery.queryForInstances(w[1])) {
                            instances.add(describe(instance));
                        }
                        out.put("instances", instances);
                        emit(out);
                        break;
                    }
                    case "watch": {
                        String name = w[1];
                        ServiceCache<Map> cache = discovery.serviceCacheBuilder().name(name).build();
                        cache.addListener(new ServiceCacheListener() {
                            @Override
                            public void cacheChanged() {
                                Map<String, Object> out = event("cache");
                                out.put("name", name);
                                List<String> ids = new ArrayList<>();
                                for (ServiceInstance<Map> instance : cache.getInstances()) ids.add(instance.getId());
                                Collections.sort(ids);
                                out.put("ids", ids);
                                emit(out);
                            }

                            @Override
                            public void stateChanged(CuratorFramework c, ConnectionState state) {}
                        });
                        cache.start();
                        caches.add(cache);
                        emit(event("watching"));
                        break;
                    }
                    case "quit": {
                        for (ServiceCache<Map> cache : caches) cache.close();
                        discovery.close();
                        emit(event("done"));
                        return;
                    }
                    default:
                        throw new IllegalArgumentException("unknown command: " + line);
                }
            }
        } catch (Exception e) {
            Map<String, Object> out = event("error");
            out.put("message", String.valueOf(e));
            emit(out);
            System.exit(1);
        } finally {
            client.close();
        }
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

    private static Map<String, Object> event(String name) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("event", name);
        out.put("id", id);
        return out;
    }

    private static synchronized void emit(Map<String, Object> json) {
        try {
            System.out.println(JSON.writeValueAsString(json));
        } catch (Exception e) {
            System.out.println("{\"event\":\"error\",\"message\":\"cannot write JSON\"}");
        }
        System.out.flush();
    }
}
