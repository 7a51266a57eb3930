package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestParseRequestJudgesAsJSONRPC2Says(t *testing.T) {
	valid := map[string]rpcRequest{
		`{"jsonrpc": "2.0", "id": 7, "method": "echo", "params": [1]}`: {ID: json.RawMessage(`7`), Method: "echo", Params: json.RawMessage(`[1]`)},
		`{"jsonrpc":"2.0","method":"hit"}`:                             {Method: "hit"},
		`{"jsonrpc":"2.0","id":null,"method":"m","params":{}}`:         {ID: json.RawMessage(`null`), Method: "m", Params: json.RawMessage(`{}`)},
		`{"jsonrpc":"2.0","id":"a","method":"m"}`:                      {ID: json.RawMessage(`"a"`), Method: "m"},
	}
	for raw, want := range valid {
		got, _, ok := parseRequest(json.RawMessage(raw))
		if !ok || string(got.ID) != string(want.ID) || got.Method != want.Method || string(got.Params) != string(want.Params) {
			t.Errorf("parseRequest(%s) = %+v, %v; want %+v", raw, got, ok, want)
		}
	}
	// Invalid requests, with the id their error reply carries.
	invalid := map[string]string{
		`1`:               `null`,
		`"just a string"`: `null`,
		`{"jsonrpc": "1.0", "id": 3, "method": "m"}`:                 `3`,
		`{"jsonrpc": 2.0, "id": 3, "method": "m"}`:                   `3`,
		`{"jsonrpc": "2.0", "id": "a", "method": 1}`:                 `"a"`,
		`{"jsonrpc": "2.0", "id": [1], "method": "m"}`:               `null`,
		`{"jsonrpc": "2.0", "id": true, "method": "m"}`:              `null`,
		`{"jsonrpc": "2.0", "id": 4, "method": "m", "params": "x"}`:  `4`,
		`{"jsonrpc": "2.0", "id": 4, "method": "m", "params": null}`: `4`,
		`{"id": 5, "method": "m"}`:                                   `5`,
		`{"jsonrpc": "2.0", "method": 1, "params": "bar"}`:           `null`,
	}
	for raw, wantID := range invalid {
		_, id, ok := parseRequest(json.RawMessage(raw))
		if ok || string(id) != wantID {
			t.Errorf("parseRequest(%s): ok %v, reply id %s; want invalid, id %s", raw, ok, id, wantID)
		}
	}
}

func TestSumParamsTakesIntegersOnly(t *testing.T) {
	sums := map[string]int64{`[1, 2, 3]`: 6, `{"a": -4, "b": 10}`: 6, `[]`: 0, `[9007199254740993, 1]`: 9007199254740994}
	for params, want := range sums {
		if got, ok := sumParams(json.RawMessage(params)); !ok || got != want {
			t.Errorf("sumParams(%s) = %d, %v; want %d", params, got, ok, want)
		}
	}
	for _, params := range []string{``, `[1, "2"]`, `[1.5]`, `[1.0]`, `[1e2]`, `[true]`, `[null]`, `[[1]]`,
		`"3"`, `[9223372036854775807, 1]`, `[-9223372036854775808, -1]`, `[18446744073709551615]`} {
		if got, ok := sumParams(json.RawMessage(params)); ok {
			t.Errorf("sumParams(%s) = %d, want Invalid params", params, got)
		}
	}
}

func TestParseMessageSplitsBatchesAndRefusesWhatIsNoRequest(t *testing.T) {
	for text, want := range map[string]int64{`{"jsonrpc": "2.0"`: -32700, ``: -32700, `[]`: -32600, ` [ ] `: -32600} {
		if _, failed := parseMessage([]byte(text)); failed == nil || failed.Error.Code != want || string(failed.ID) != "null" {
			t.Errorf("parseMessage(%q) = %+v, want error %d with id null", text, failed, want)
		}
	}
	message, failed := parseMessage([]byte(`[1, {"jsonrpc": "2.0", "method": "m"}]`))
	if failed != nil || len(message.batch) != 2 || message.single != nil || string(message.batch[0]) != "1" {
		t.Errorf("a batch of two: %+v, %+v", message, failed)
	}
	message, failed = parseMessage([]byte(`"text"`))
	if failed != nil || string(message.single) != `"text"` || message.batch != nil {
		t.Errorf("a single value: %+v, %+v", message, failed)
	}
}

func TestUnsubscribeTakesAnArrayOfOneString(t *testing.T) {
	if id, ok := unsubscribeTarget(json.RawMessage(`["sub-1"]`)); !ok || id != "sub-1" {
		t.Errorf("[\"sub-1\"]: %q, %v", id, ok)
	}
	for _, params := range []string{``, `{"id": "x"}`, `[]`, `["a", "b"]`, `[1]`, `"sub-1"`} {
		if _, ok := unsubscribeTarget(json.RawMessage(params)); ok {
			t.Errorf("unsubscribeTarget(%s) accepted", params)
		}
	}
}

func TestMethodsHaveExactlyOneKind(t *testing.T) {
	var specs map[string]rpcMethodSpec
	err := json.Unmarshal([]byte(`{
		"echo": {"reply": "params"}, "slow": {"reply": "sum", "delay_ms": 30},
		"hits": {"reply": {"counter": "hits"}}, "version": {"reply": {"value": { "major" : 1 }}},
		"hit": {"notify": "hits"}, "cancel": {"unsubscribe": true},
		"ticks": {"subscribe": {"count": 3, "interval_ms": 20, "notification": "tick"}},
		"boom": {"fail": {"code": -32001, "message": "Boom", "data": null}}}`), &specs)
	if err != nil {
		t.Fatal(err)
	}
	methods, err := newRpcMethods(specs)
	if err != nil {
		t.Fatal(err)
	}
	if m := methods["slow"]; m.kind != kindReply || m.reply != replySum || m.delay != 30 {
		t.Errorf("slow: %+v", m)
	}
	if m := methods["version"]; m.reply != replyValue || string(m.value) != `{"major":1}` {
		t.Errorf("version: %+v", m)
	}
	if m := methods["hits"]; m.reply != replyCounter || m.name != "hits" {
		t.Errorf("hits: %+v", m)
	}
	if got := string(marshal(errorReply(json.RawMessage(`1`), methods["boom"].fail))); got != `{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"Boom","data":null}}` {
		t.Errorf("boom's reply: %s", got)
	}
	for _, bad := range []string{`{"reply": "params", "notify": "x"}`, `{"notify": "x", "delay_ms": 5}`, `{}`,
		`{"unsubscribe": false}`, `{"reply": "nonsense"}`, `{"reply": {"other": 1}}`, `{"reply": "params", "delay_ms": 10001}`} {
		var spec rpcMethodSpec
		if json.Unmarshal([]byte(bad), &spec) != nil {
			t.Fatalf("%s does not decode", bad)
		}
		if _, err := newRpcMethod(spec); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestItemsCarryTheSubscriptionNAndTheTimestamp(t *testing.T) {
	ts := "ts_us"
	got := string(itemMessage(&rpcSubscribe{Notification: "tick", TimestampField: &ts}, "sub-1", 2, 1700000000000000))
	if want := `{"jsonrpc":"2.0","method":"tick","params":{"subscription":"sub-1","n":2,"ts_us":1700000000000000}}`; got != want {
		t.Errorf("item %s, want %s", got, want)
	}
	got = string(itemMessage(&rpcSubscribe{Notification: "feed"}, "sub-2", 1, 0))
	if want := `{"jsonrpc":"2.0","method":"feed","params":{"subscription":"sub-2","n":1}}`; got != want {
		t.Errorf("item %s, want %s", got, want)
	}
}

// rpcTestServer serves one rpc handler; ended receives once serveRpc has returned, that is when
// every goroutine of the connection has finished.
func rpcTestServer(t *testing.T, methods string) (url string, ended chan struct{}) {
	t.Helper()
	var specs map[string]rpcMethodSpec
	if err := json.Unmarshal([]byte(methods), &specs); err != nil {
		t.Fatal(err)
	}
	prepared, err := newRpcMethods(specs)
	if err != nil {
		t.Fatal(err)
	}
	ended = make(chan struct{}, 1)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		serveRpc(conn, prepared, 10)
		ended <- struct{}{}
	}))
	t.Cleanup(server.Close)
	return "ws" + strings.TrimPrefix(server.URL, "http"), ended
}

// readNonHeartbeat reads the next message that is not a heartbeat.
func readNonHeartbeat(t *testing.T, conn *websocket.Conn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		if string(data) != string(heartbeatMessage) {
			return string(data)
		}
	}
}

func TestRepliesComeOutOfOrderAndBatchesInOrder(t *testing.T) {
	url, _ := rpcTestServer(t, `{"echo": {"reply": "params"}, "slow": {"reply": "params", "delay_ms": 200}}`)
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":1,"method":"slow","params":["s"]}`))
	conn.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":2,"method":"echo","params":["f"]}`))
	for _, want := range []string{`{"jsonrpc":"2.0","id":2,"result":["f"]}`, `{"jsonrpc":"2.0","id":1,"result":["s"]}`} {
		if got := readNonHeartbeat(t, conn); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
	conn.WriteMessage(websocket.TextMessage, []byte(`[{"jsonrpc":"2.0","id":1,"method":"slow"},{"jsonrpc":"2.0","method":"echo"},{"jsonrpc":"2.0","id":3,"method":"echo"}]`))
	if got, want := readNonHeartbeat(t, conn), `[{"jsonrpc":"2.0","id":1,"result":null},{"jsonrpc":"2.0","id":3,"result":null}]`; got != want {
		t.Errorf("batch: got %s, want %s", got, want)
	}
}

func TestNoGoroutineOutlivesTheConnection(t *testing.T) {
	url, ended := rpcTestServer(t, `{"feed": {"subscribe": {"count": null, "interval_ms": 5, "notification": "feed"}},
		"slow": {"reply": "params", "delay_ms": 10000}, "cancel": {"unsubscribe": true}}`)
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":1,"method":"feed"}`))
	conn.WriteMessage(websocket.TextMessage, []byte(`[{"jsonrpc":"2.0","id":2,"method":"slow"},{"jsonrpc":"2.0","id":3,"method":"feed"}]`))
	if got := readNonHeartbeat(t, conn); got != `{"jsonrpc":"2.0","id":1,"result":"sub-1"}` {
		t.Fatalf("subscribe: %s", got)
	}
	if got := readNonHeartbeat(t, conn); !strings.HasPrefix(got, `{"jsonrpc":"2.0","method":"feed","params":{"subscription":"sub-1","n":1`) {
		t.Fatalf("first item: %s", got)
	}
	conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	conn.Close()
	// Heartbeats, an endless subscription and a reply due in 10 s are all stopped at once.
	select {
	case <-ended:
	case <-time.After(2 * time.Second):
		t.Fatal("serveRpc still waits for goroutines after the connection closed")
	}
}
