# `umbra sandbox`: AntiNuke 훈련 해설. 대응 파일: locales/en-US/sandbox.ftl.

sandbox-title = Umbra 샌드박스 — 로컬 Discord에서 하는 AntiNuke 훈련 (토큰·설정 없음)
sandbox-guild = 로컬 Discord에 데모 서버 **{ $guild }**를 만들었습니다: 역할 { $roles }개, 채널 { $channels }개, 멤버 { $members }명.
sandbox-database = Umbra가 자체 PostgreSQL({ $dir })로 시작했습니다.
sandbox-connected = Umbra가 연결되어 서버를 데이터베이스에 그대로 옮겨 두었습니다.
sandbox-antinuke-on = 소유자가 AntiNuke를 켭니다 (/antinuke enable): 한 사람이 { $window }초 안에 채널을 { $count }개 지우면 사건입니다.
sandbox-snapshot = 소유자가 스냅샷을 찍습니다 (/backup create): **{ $label }** — 역할 { $roles }개, 채널 { $channels }개, 멤버 { $members }명.
sandbox-nuke-start = ☢️  { $actor }(관리자)이(가) 초당 약 50개씩 채널과 역할을 지우기 시작합니다…
sandbox-nuke-end = 테러가 끝났습니다: Umbra가 멈추기 전에 { $destroyed }개가 파괴되었고, 이후 { $refused }번의 시도는 Discord가 거부했습니다.
sandbox-detected = 🛡️  감지({ $class } { $count }회): 파괴 이벤트 { $ms }ms 뒤에 처벌 요청이 Discord에 도착했습니다.
sandbox-dm = 소유자가 받은 DM:
    { $text }
sandbox-press = 소유자가 “파괴된 것 복구”를 누릅니다.
sandbox-reply = Umbra: { $text }
sandbox-progress = 복구 중… { $done }/{ $total }단계
sandbox-restored = 복구가 { $seconds }초 만에 { $status ->
    [completed] 끝났습니다
   *[other] 멈췄습니다({ $status })
}: 완료 { $done }단계, 실패 { $failed }단계.
sandbox-diff-equal = ✅ 최종 비교: 서버가 공격 전 상태와 같습니다 (공격자는 처벌된 상태 그대로).
sandbox-diff-unequal = ❌ 최종 비교: 공격 전 상태와 { $count }곳이 다릅니다:
    { $sample }
sandbox-summary = 요약: 파괴 이벤트 { $ms }ms 뒤에 멈춤, 파괴 { $destroyed }개, { $seconds }초 만에 복구.
sandbox-failed = 훈련이 실패했습니다: { $error }
sandbox-dashboard = 🌐 대시보드가 열렸습니다. 다음 주소를 열면 데모 서버의 소유자로 로그인됩니다: { $link } — 타임머신에서 공격 전의 서버를 볼 수 있습니다. Ctrl-C로 샌드박스를 끝냅니다.
sandbox-billing = 💳 결제(로컬 토스페이먼츠): 소유자가 카드를 등록하고 서버를 Pro로 구독했습니다. 결제는 한 번(₩{ $amount }) 이루어졌고 Pro 라이선스가 적용되었습니다. 대시보드의 요금제 페이지에서 구독과 영수증을 볼 수 있습니다.
