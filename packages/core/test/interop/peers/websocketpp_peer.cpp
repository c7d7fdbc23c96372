// Interop peer: WebSocket++ (Debian's libwebsocketpp-dev, header-only, on Boost.Asio), as an echo server or
// as a checking client. Debian ships no WebSocket++ examples, hence this file.
//
//   websocketpp_peer server [--deflate]        prints "listening PORT", then "closed CODE REASON" per close;
//                                              echoes every message; "close:CODE:REASON" closes with it;
//                                              "fragments" sends a text message in fragments.
//   websocketpp_peer client URL [--deflate]    runs the checks against our echo server, prints one JSON line.
//
// WebSocket++'s send(payload, opcode) writes whole messages; fragments go through its message buffers
// (see send_fragmented).
#include <websocketpp/client.hpp>
#include <websocketpp/config/asio_no_tls.hpp>
#include <websocketpp/config/asio_no_tls_client.hpp>
#include <websocketpp/extensions/permessage_deflate/enabled.hpp>
#include <websocketpp/server.hpp>

#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace {

struct deflate_server_config : public websocketpp::config::asio {
  typedef deflate_server_config type;
  struct permessage_deflate_config {};
  typedef websocketpp::extensions::permessage_deflate::enabled<permessage_deflate_config> permessage_deflate_type;
};

struct deflate_client_config : public websocketpp::config::asio_client {
  typedef deflate_client_config type;
  struct permessage_deflate_config {};
  typedef websocketpp::extensions::permessage_deflate::enabled<permessage_deflate_config> permessage_deflate_type;
};

const std::string SUBPROTOCOL = "pubsub.v1";
// "fragmented κόσμε", as test/interop/matrix.ts has it.
const std::string FRAGMENTED = "fragmented \xce\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xb5";

// Sends FRAGMENTED in three frames, the second splitting the 2-byte "ό": a message buffer per frame from
// connection::get_message, the first with the text opcode, the others with the continuation opcode, FIN
// cleared (set_fin(false)) on all but the last. WebSocket++ 0.8.2 checks UTF-8 per text-opcode frame only,
// so the first fragment must end on a character boundary; and the frames go uncompressed even with
// permessage-deflate: its compressor works per frame and would set RSV1 on continuation frames too.
template <typename ConnectionPtr>
void send_fragmented(ConnectionPtr con) {
  const size_t cuts[] = {0, 6, 14, FRAGMENTED.size()};
  for (size_t i = 0; i < 3; i++) {
    auto msg = con->get_message(i == 0 ? websocketpp::frame::opcode::text : websocketpp::frame::opcode::continuation, cuts[i + 1] - cuts[i]);
    msg->set_payload(FRAGMENTED.substr(cuts[i], cuts[i + 1] - cuts[i]));
    msg->set_fin(i == 2);
    msg->set_compressed(false);
    con->send(msg);
  }
}

std::string pattern(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; i++) bytes[i] = static_cast<char>((i * 7 + 3) & 0xff);
  return bytes;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

template <typename Config>
int run_server() {
  typedef websocketpp::server<Config> server;
  server s;
  s.clear_access_channels(websocketpp::log::alevel::all);
  s.clear_error_channels(websocketpp::log::elevel::all);
  s.init_asio();
  s.set_reuse_addr(true);
  s.set_validate_handler([&s](websocketpp::connection_hdl hdl) {
    auto con = s.get_con_from_hdl(hdl);
    for (const auto& offered : con->get_requested_subprotocols())
      if (offered == SUBPROTOCOL) con->select_subprotocol(SUBPROTOCOL);
    return true;
  });
  s.set_message_handler([&s](websocketpp::connection_hdl hdl, typename server::message_ptr msg) {
    const std::string& payload = msg->get_payload();
    if (msg->get_opcode() == websocketpp::frame::opcode::text && payload.rfind("close:", 0) == 0) {
      size_t colon = payload.find(':', 6);
      int code = std::atoi(payload.c_str() + 6);
      std::string reason = colon == std::string::npos ? "" : payload.substr(colon + 1);
      s.close(hdl, static_cast<websocketpp::close::status::value>(code), reason);
      return;
    }
    if (msg->get_opcode() == websocketpp::frame::opcode::text && payload == "fragments") {
      send_fragmented(s.get_con_from_hdl(hdl));
      return;
    }
    s.send(hdl, payload, msg->get_opcode());
  });
  s.set_close_handler([&s](websocketpp::connection_hdl hdl) {
    auto con = s.get_con_from_hdl(hdl);
    std::printf("closed %d %s\n", con->get_remote_close_code(), con->get_remote_close_reason().c_str());
    std::fflush(stdout);
  });
  s.set_max_message_size(64 * 1024 * 1024);
  s.listen(boost::asio::ip::tcp::endpoint(boost::asio::ip::address::from_string("127.0.0.1"), 0));
  s.start_accept();
  websocketpp::lib::asio::error_code ec;
  std::printf("listening %d\n", s.get_local_endpoint(ec).port());
  std::fflush(stdout);
  s.run();
  return 0;
}

struct Step {
  std::string name;
  enum Kind { TEXT, BINARY, FRAGMENTS, PING, CLOSE_COMMAND } kind;
  std::string payload;
};

template <typename Config>
int run_client(const std::string& url) {
  typedef websocketpp::client<Config> client;
  client c;
  c.clear_access_channels(websocketpp::log::alevel::all);
  c.clear_error_channels(websocketpp::log::elevel::all);
  c.init_asio();

  std::vector<Step> steps = {
      {"text-ascii", Step::TEXT, "hello, switchboard"},
      {"text-utf8", Step::TEXT, "\xce\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xb5 \xf0\x9f\x9a\x80 \xc3\xbc\x6e\xc3\xaf\x63\xc3\xb6\x64\xc3\xa9 \xe4\xb8\x96\xe7\x95\x8c"},
      {"binary-0", Step::BINARY, pattern(0)},
      {"binary-125", Step::BINARY, pattern(125)},
      {"binary-126", Step::BINARY, pattern(126)},
      {"binary-65535", Step::BINARY, pattern(65535)},
      {"binary-65536", Step::BINARY, pattern(65536)},
      {"binary-1MiB", Step::BINARY, pattern(1 << 20)},
      // Check names are our side's: this peer sends fragments (we receive), then asks for ours.
      {"fragments-in", Step::FRAGMENTS, FRAGMENTED},
      {"fragments-out", Step::TEXT, "fragments"},
      {"peer-ping", Step::PING, "are you there"},
      {"close-from-us", Step::CLOSE_COMMAND, "close:4001:bye from switchboard"},
  };
  std::map<std::string, bool> checks;
  size_t index = 0;
  int phase = 0;
  std::string subprotocol, extensions;

  std::function<void(websocketpp::connection_hdl)> next = [&](websocketpp::connection_hdl hdl) {
    if (index >= steps.size()) return;
    const Step& step = steps[index];
    switch (step.kind) {
      case Step::TEXT:
      case Step::CLOSE_COMMAND:
        c.send(hdl, step.payload, websocketpp::frame::opcode::text);
        break;
      case Step::BINARY:
        c.send(hdl, step.payload, websocketpp::frame::opcode::binary);
        break;
      case Step::FRAGMENTS:
        send_fragmented(c.get_con_from_hdl(hdl));
        break;
      case Step::PING:
        c.ping(hdl, step.payload);
        break;
    }
  };
  std::function<void()> open_connection;

  c.set_open_handler([&](websocketpp::connection_hdl hdl) {
    auto con = c.get_con_from_hdl(hdl);
    if (phase == 0) {
      // get_subprotocol() stays empty on a client in 0.8.2: read the response header.
      subprotocol = con->get_response_header("Sec-WebSocket-Protocol");
      extensions = con->get_response_header("Sec-WebSocket-Extensions");
      next(hdl);
    } else {
      c.close(hdl, static_cast<websocketpp::close::status::value>(4000), "bye from peer");
    }
  });
  c.set_message_handler([&](websocketpp::connection_hdl hdl, typename client::message_ptr msg) {
    if (index >= steps.size()) return;
    const Step& step = steps[index];
    auto expected = step.kind == Step::BINARY ? websocketpp::frame::opcode::binary : websocketpp::frame::opcode::text;
    // Our server answers "fragments" with FRAGMENTED, in fragments.
    const std::string& wanted = step.name == "fragments-out" ? FRAGMENTED : step.payload;
    checks[step.name] = msg->get_opcode() == expected && msg->get_payload() == wanted;
    index++;
    next(hdl);
  });
  c.set_pong_handler([&](websocketpp::connection_hdl hdl, std::string payload) {
    if (index < steps.size() && steps[index].kind == Step::PING) {
      checks[steps[index].name] = payload == steps[index].payload;
      index++;
      next(hdl);
    }
  });
  c.set_close_handler([&](websocketpp::connection_hdl hdl) {
    auto con = c.get_con_from_hdl(hdl);
    if (phase == 0) {
      if (index < steps.size() && steps[index].kind == Step::CLOSE_COMMAND)
        checks[steps[index].name] = con->get_remote_close_code() == 4001 && con->get_remote_close_reason() == "bye from switchboard";
      phase = 1;
      open_connection();
    } else {
      phase = 2;
    }
  });
  c.set_fail_handler([&](websocketpp::connection_hdl) {
    std::fprintf(stderr, "connection failed\n");
    c.stop();
  });
  open_connection = [&]() {
    websocketpp::lib::error_code ec;
    auto con = c.get_connection(url, ec);
    if (ec) {
      std::fprintf(stderr, "get_connection: %s\n", ec.message().c_str());
      return;
    }
    con->add_subprotocol(SUBPROTOCOL);
    con->set_max_message_size(64 * 1024 * 1024);
    c.connect(con);
  };
  open_connection();
  c.run();

  std::printf("{\"subprotocol\":\"%s\",\"extensions\":\"%s\",\"checks\":{", json_escape(subprotocol).c_str(), json_escape(extensions).c_str());
  bool first = true;
  for (const auto& step : steps) {
    auto found = checks.find(step.name);
    std::printf("%s\"%s\":%s", first ? "" : ",", step.name.c_str(), found != checks.end() && found->second ? "true" : "false");
    first = false;
  }
  std::printf("}}\n");
  return phase == 2 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  bool deflate = false;
  for (int i = 2; i < argc; i++)
    if (!std::strcmp(argv[i], "--deflate")) deflate = true;
  if (argc >= 2 && !std::strcmp(argv[1], "server"))
    return deflate ? run_server<deflate_server_config>() : run_server<websocketpp::config::asio>();
  if (argc >= 3 && !std::strcmp(argv[1], "client"))
    return deflate ? run_client<deflate_client_config>(argv[2]) : run_client<websocketpp::config::asio_client>(argv[2]);
  std::fprintf(stderr, "usage: websocketpp_peer server [--deflate] | websocketpp_peer client URL [--deflate]\n");
  return 2;
}
